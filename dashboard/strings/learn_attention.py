"""Lesson 4, Attention: which earlier tokens each token looks at, and the causal mask."""

STRINGS = {
    "learn_attention_title": {"es": "Atención", "en": "Attention"},
    "learn_attention_intro": {
        "es": "Para adivinar la siguiente palabra, cada token **mira** a los tokens que tiene antes y decide "
              "cuánto le importa cada uno: eso es la **atención**. En «El gato se durmió porque estaba cansado», "
              "«cansado» necesita saber quién estaba cansado. El modelo tiene varias **cabezas** de atención por "
              "capa, y cada una aprende a fijarse en cosas distintas.",
        "en": "To guess the next word, each token **looks** at the tokens before it and decides how much each one "
              "matters: that is **attention**. In “The cat fell asleep because it was tired”, “it” needs to know "
              "who was tired. The model has several attention **heads** per layer, and each learns to look for "
              "different things.",
    },
    "learn_attention_text": {"es": "Una frase", "en": "A sentence"},
    "learn_attention_default": {
        "es": "El gato se durmió en el sofá porque estaba muy cansado.",
        "en": "The cat fell asleep on the sofa because it was very tired.",
    },
    "learn_attention_empty": {"es": "Escribe una frase para ver su atención.", "en": "Type a sentence to see its attention."},
    "learn_attention_cut": {
        "es": "La frase tiene {n} tokens; aquí se muestran los {shown} primeros para que el mapa se pueda leer.",
        "en": "The sentence has {n} tokens; the first {shown} are shown here so the map stays readable.",
    },
    "learn_attention_layer": {"es": "Capa", "en": "Layer"},
    "learn_attention_head": {"es": "Cabeza", "en": "Head"},
    "learn_attention_map_title": {"es": "Quién mira a quién", "en": "Who looks at whom"},
    "learn_attention_map_intro": {
        "es": "Cada fila es un token que mira; cada columna, un token mirado. Cuanto más oscuro, más atención. "
              "Cada fila suma 100 %: la atención es un reparto.",
        "en": "Each row is a token that looks; each column, a token looked at. The darker, the more attention. "
              "Each row adds up to 100%: attention is a share-out.",
    },
    "learn_attention_mask": {"es": "máscara causal", "en": "causal mask"},
    "learn_attention_mask_note": {
        "es": "El triángulo gris de arriba a la derecha está vacío a propósito: es la **máscara causal**. Un "
              "token nunca mira a los que vienen después, porque al escribir el modelo aún no los conoce; solo "
              "puede usar el pasado.",
        "en": "The grey triangle at the top right is empty on purpose: it is the **causal mask**. A token never "
              "looks at the ones that come after it, because while writing the model does not know them yet; it "
              "can only use the past.",
    },
    "learn_attention_looker": {"es": "token que mira", "en": "token looking"},
    "learn_attention_looked": {"es": "token mirado", "en": "token looked at"},
    "learn_attention_weight": {"es": "atención", "en": "attention"},
    "learn_attention_future": {"es": "futuro: no se puede mirar", "en": "future: cannot be seen"},
    "learn_attention_pick_title": {"es": "Lo que mira un token", "en": "What one token looks at"},
    "learn_attention_pick": {"es": "Elige un token", "en": "Pick a token"},
    "learn_attention_pick_note": {
        "es": "«{token}» reparte su atención entre sí mismo y los {n} tokens anteriores. Lo que más mira: "
              "«{top}» ({share}).",
        "en": "“{token}” shares its attention between itself and the {n} tokens before it. What it looks at "
              "most: “{top}” ({share}).",
    },
    "learn_attention_heads_title": {"es": "Todas las cabezas de la capa {layer}",
                                    "en": "All the heads of layer {layer}"},
    "learn_attention_heads_intro": {
        "es": "Las cabezas de una misma capa miran la misma frase de formas distintas: algunas miran al token "
              "anterior, otras al primero, otras a palabras concretas.",
        "en": "The heads of one layer look at the same sentence in different ways: some look at the previous "
              "token, others at the first one, others at particular words.",
    },
}
