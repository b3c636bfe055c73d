"""Lesson 6, the context window: the model sees only its last max_seq_len tokens."""

STRINGS = {
    "learn_context_title": {"es": "La ventana de contexto", "en": "The context window"},
    "learn_context_intro": {
        "es": "Un modelo no lee un texto entero: solo ve sus últimos tokens, los que caben en su **ventana de "
              "contexto**. Lo que queda más atrás ya no existe para él, aunque siga en la pantalla. Los modelos "
              "grandes tienen ventanas de miles de tokens, pero todas tienen un final.",
        "en": "A model does not read a whole text: it only sees its last tokens, the ones that fit in its "
              "**context window**. Whatever lies further back no longer exists for it, even if it is still on the screen. "
              "Large models have windows of thousands of tokens, but every window ends somewhere.",
    },
    "learn_context_window": {
        "es": "La ventana de tu modelo es de **{window}** tokens.",
        "en": "Your model's window holds **{window}** tokens.",
    },
    "learn_context_text": {"es": "Un texto largo", "en": "A long text"},
    "learn_context_default": {
        "es": "Mi gata se llama Mora. Es negra, tiene los ojos verdes y duerme casi todo el día encima del sofá. "
              "Por la mañana sale al balcón a mirar los pájaros, y a veces se queda quieta tanto rato que parece "
              "una estatua. Cuando llueve se esconde debajo de la cama y no sale hasta que vuelve el sol. Le "
              "gusta el pescado, odia el agua y no soporta que cierren una puerta delante de ella. Los vecinos "
              "dicen que es la gata más tranquila del barrio, pero yo sé que por la noche corre por el pasillo "
              "como si la persiguiera un fantasma. El verano pasado se subió al tejado y tuvimos que llamar a los "
              "bomberos para bajarla. Desde entonces la vigilo cada vez que abro la ventana. Mi abuela dice que "
              "los gatos eligen a sus dueños y no al revés, y creo que tiene razón: un día apareció en la puerta, "
              "maulló dos veces y entró como si la casa fuera suya. Ahora duerme a mis pies todas las noches. "
              "¿Cómo se llama mi gata? Se llama",
        "en": "My cat is called Mora. She is black, has green eyes and sleeps most of the day on top of the sofa. "
              "In the morning she goes out on the balcony to watch the birds, and sometimes she stays still for "
              "so long that she looks like a statue. When it rains she hides under the bed and does not come out "
              "until the sun is back. She likes fish, hates water and cannot stand a door being closed in front "
              "of her. The neighbours say she is the calmest cat on the street, but I know that at night she "
              "runs down the hall as if a ghost were after her. Last summer she climbed onto the roof and we had "
              "to call the fire brigade to get her down. Since then I watch her every time I open the window. My "
              "grandmother says cats choose their owners and not the other way round, and I think she is right: "
              "one day she appeared at the door, miaowed twice and walked in as if the house were hers. Now she "
              "sleeps at my feet every night. What is my cat called? She is called",
    },
    "learn_context_empty": {"es": "Escribe o pega un texto.", "en": "Type or paste a text."},
    "learn_context_counts": {
        "es": "El texto tiene **{total}** tokens; la ventana, {window}. El modelo ve los {seen} últimos "
              "(en color) y no ve los {lost} primeros (en gris).",
        "en": "The text has **{total}** tokens; the window, {window}. The model sees the last {seen} (in colour) "
              "and not the first {lost} (in grey).",
    },
    "learn_context_fits": {
        "es": "El texto tiene **{total}** tokens y cabe entero en la ventana de {window}: el modelo lo ve todo.",
        "en": "The text has **{total}** tokens and fits whole in the window of {window}: the model sees all of it.",
    },
    "learn_context_curve_title": {"es": "Con y sin el principio", "en": "With and without the beginning"},
    "learn_context_curve_intro": {
        "es": "¿Puede el modelo usar lo que dice el principio? La curva muestra la probabilidad que da a la "
              "palabra de abajo como siguiente token, según cuántos de los últimos tokens ve. Prueba a borrar "
              "frases del medio para que el principio entre en la ventana.",
        "en": "Can the model use what the beginning says? The curve shows the probability it gives the word "
              "below as the next token, depending on how many of the last tokens it sees. Try deleting sentences "
              "from the middle so that the beginning comes into the window.",
    },
    "learn_context_word": {"es": "La palabra que debería venir", "en": "The word that should come next"},
    "learn_context_word_default": {"es": "Mora", "en": "Mora"},
    "learn_context_seen": {"es": "últimos tokens que ve el modelo", "en": "last tokens the model sees"},
    "learn_context_prob": {"es": "probabilidad de «{word}»", "en": "probability of “{word}”"},
    "learn_context_enters": {"es": "aquí entra «{word}»", "en": "“{word}” comes in here"},
    "learn_context_reading": {
        "es": "Viendo todo lo que cabe, el modelo da a «{word}» un {full}; viendo solo los últimos {few} tokens, un "
              "{short}.",
        "en": "Seeing all that fits, the model gives “{word}” {full}; seeing only the last {few} tokens, {short}.",
    },
    "learn_context_outside": {
        "es": "«{word}» solo aparece antes de la ventana: el modelo no tiene forma de saberlo.",
        "en": "“{word}” only appears before the window: the model has no way of knowing it.",
    },
    "learn_context_used": {
        "es": "Cuando «{word}» entra en la ventana, la probabilidad sube: el modelo usa el principio del texto.",
        "en": "When “{word}” comes into the window the probability rises: the model uses the text's beginning.",
    },
    "learn_context_unused": {
        "es": "«{word}» está dentro de la ventana, pero la probabilidad casi no cambia: el modelo lo ve y no ha "
              "aprendido a usarlo. Copiar un nombre de muchas palabras atrás es algo que los modelos pequeños "
              "apenas saben hacer.",
        "en": "“{word}” is inside the window, yet the probability hardly changes: the model sees it and has not "
              "learnt to use it. Copying a name from many words back is something small models can barely do.",
    },
    "learn_context_absent": {
        "es": "«{word}» no aparece en el texto: la curva muestra lo que el modelo adivina sin pistas.",
        "en": "“{word}” does not appear in the text: the curve shows what the model guesses without a clue.",
    },
    "learn_context_chat_title": {"es": "Por qué un chat olvida su principio", "en": "Why a chat forgets its beginning"},
    "learn_context_chat": {
        "es": "En un chat, cada mensaje nuevo se añade al final de la misma conversación, y toda ella tiene que "
              "caber en la ventana, con sitio para la respuesta. Con {window} tokens, a unos {bytes} bytes por "
              "token, caben unos {chars} caracteres: cuando la charla crece, los primeros mensajes se quedan "
              "fuera y el modelo los olvida. La página de Chat lo muestra con su medidor.",
        "en": "In a chat, each new message is added to the end of the same conversation, and all of it has to "
              "fit in the window, with room for the reply. With {window} tokens at about {bytes} bytes per token, "
              "that is about {chars} characters: as the talk grows, the first messages fall out and the model "
              "forgets them. The Chat page shows it with its meter.",
    },
}
