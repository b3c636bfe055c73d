"""Lesson 1, Tokens: how text is cut into the pieces a model reads."""

STRINGS = {
    "learn_tokens_title": {"es": "Tokens", "en": "Tokens"},
    "learn_tokens_intro": {
        "es": "Un modelo de lenguaje no lee letras ni palabras: lee **tokens**, trocitos de texto. Cada token tiene "
              "un número, su *id*, y el modelo solo ve esos números. Las palabras frecuentes suelen ser un solo "
              "token; las raras se parten en varios. El tokenizador aprendió estos trozos de los textos con los que "
              "entrenaste tu modelo.",
        "en": "A language model does not read letters or words: it reads **tokens**, small pieces of text. Each "
              "token has a number, its *id*, and the model only ever sees those numbers. Common words are often one "
              "token; rare ones are split into several. The tokenizer learnt these pieces from the texts your model "
              "was trained on.",
    },
    "learn_tokens_text": {"es": "Escribe un texto", "en": "Type some text"},
    "learn_tokens_default": {
        "es": "Los gatos duermen al sol mientras la ciudad despierta.",
        "en": "The cats sleep in the sun while the city wakes up.",
    },
    "learn_tokens_spaces": {"es": "Mostrar los espacios (·)", "en": "Show the spaces (·)"},
    "learn_tokens_count": {
        "es": "**{tokens}** tokens para {chars} caracteres ({bytes} bytes): {per} bytes por token.",
        "en": "**{tokens}** tokens for {chars} characters ({bytes} bytes): {per} bytes per token.",
    },
    "learn_tokens_empty": {"es": "Escribe algo para ver sus tokens.", "en": "Type something to see its tokens."},
    "learn_tokens_tip": {"es": "id {id} · pieza {piece}", "en": "id {id} · piece {piece}"},
    "learn_tokens_ids": {"es": "Los números que ve el modelo", "en": "The numbers the model sees"},
    "learn_tokens_col_id": {"es": "id", "en": "id"},
    "learn_tokens_col_piece": {"es": "pieza", "en": "piece"},
    "learn_tokens_col_text": {"es": "texto", "en": "text"},
    "learn_tokens_langs_title": {"es": "La misma frase en dos idiomas", "en": "The same sentence in two languages"},
    "learn_tokens_langs_intro": {
        "es": "Un idioma con más texto en el entrenamiento recibe trozos más largos: la misma idea cuesta menos "
              "tokens. Escribe una frase y su traducción.",
        "en": "A language with more training text gets longer pieces: the same idea costs fewer tokens. Type a "
              "sentence and its translation.",
    },
    "learn_tokens_es_label": {"es": "En español", "en": "In Spanish"},
    "learn_tokens_en_label": {"es": "En inglés", "en": "In English"},
    "learn_tokens_pair_es": {"es": "El niño lee un libro en la biblioteca.", "en": "El niño lee un libro en la biblioteca."},
    "learn_tokens_pair_en": {"es": "The boy reads a book in the library.", "en": "The boy reads a book in the library."},
    "learn_tokens_per_word": {
        "es": "{tokens} tokens, {words} palabras: {per} tokens por palabra",
        "en": "{tokens} tokens, {words} words: {per} tokens per word",
    },
    "learn_tokens_corpus": {
        "es": "En todo el texto de validación, el tokenizador saca {es} bytes por token en español y {en} en inglés "
              "(etapa *tokenizer*).",
        "en": "Over the whole validation text, the tokenizer gets {es} bytes per token in Spanish and {en} in "
              "English (the *tokenizer* stage).",
    },
    "learn_tokens_chat_title": {"es": "Cómo se envuelve un mensaje de chat", "en": "How a chat message is wrapped"},
    "learn_tokens_chat_intro": {
        "es": "En un chat, unos tokens especiales (en oscuro) marcan quién habla y dónde acaba cada turno. El "
              "usuario no puede escribirlos: solo el programa los pone. Al ajustar el modelo para conversar, solo "
              "aprende de la respuesta del asistente; lo gris es contexto.",
        "en": "In a chat, special tokens (dark) mark who is speaking and where each turn ends. A user cannot type "
              "them: only the program inserts them. When the model is fine-tuned to chat it learns only from the "
              "assistant's reply; the grey part is context.",
    },
    "learn_tokens_chat_user": {"es": "Mensaje del usuario", "en": "The user's message"},
    "learn_tokens_chat_user_default": {"es": "Hola, ¿qué tal?", "en": "Hello, how are you?"},
    "learn_tokens_chat_reply": {"es": "Muy bien, gracias.", "en": "Very well, thank you."},
    "learn_tokens_chat_count": {
        "es": "{total} tokens en total; el modelo aprende de {trained} (la respuesta y su fin de turno).",
        "en": "{total} tokens in all; the model learns from {trained} (the reply and its end of turn).",
    },
    "learn_tokens_bytes_title": {"es": "Letras raras y emojis", "en": "Rare letters and emojis"},
    "learn_tokens_bytes_intro": {
        "es": "Lo que el tokenizador nunca vio no se pierde: se escribe byte a byte (borde discontinuo). Un emoji "
              "ocupa 4 bytes, así que puede costar 4 tokens.",
        "en": "What the tokenizer never saw is not lost: it is written byte by byte (dashed border). An emoji takes "
              "4 bytes, so it can cost 4 tokens.",
    },
    "learn_tokens_bytes_default": {"es": "¡Olé! 🙂 Straße Ωmega", "en": "Olé! 🙂 Straße Ωmega"},
    "learn_tokens_bytes_label": {"es": "Prueba con otros caracteres", "en": "Try other characters"},
    "learn_tokens_bytes_count": {
        "es": "{bytes} de los {tokens} tokens son bytes sueltos.",
        "en": "{bytes} of the {tokens} tokens are single bytes.",
    },
}
