"""Lesson 5, Softmax and temperature: from the model's scores to the next token's probabilities."""

STRINGS = {
    "learn_softmax_title": {"es": "Softmax y temperatura", "en": "Softmax and temperature"},
    "learn_softmax_intro": {
        "es": "Al final, el modelo da una puntuación a **cada** token de su vocabulario. Una cuenta llamada "
              "**softmax** convierte esas puntuaciones en probabilidades que suman 100 %. Luego se sortea el "
              "siguiente token según esas probabilidades. La **temperatura** cambia el sorteo: baja, el favorito "
              "gana casi siempre; alta, hasta los tokens raros tienen su oportunidad.",
        "en": "At the end, the model gives a score to **every** token in its vocabulary. A calculation called "
              "**softmax** turns those scores into probabilities that add up to 100%. Then the next token is "
              "drawn by lot with those probabilities. The **temperature** changes the draw: low, the favourite "
              "almost always wins; high, even rare tokens get a chance.",
    },
    "learn_softmax_prompt": {"es": "El comienzo de un texto", "en": "The start of a text"},
    "learn_softmax_default": {"es": "Había una vez un", "en": "Once upon a time there was a"},
    "learn_softmax_empty": {"es": "Escribe el comienzo de un texto.", "en": "Type the start of a text."},
    "learn_softmax_temperature": {"es": "Temperatura", "en": "Temperature"},
    "learn_softmax_top_k": {"es": "Top-k (0 = sin corte)", "en": "Top-k (0 = no cut)"},
    "learn_softmax_top_p": {"es": "Top-p (1 = sin corte)", "en": "Top-p (1 = no cut)"},
    "learn_softmax_chart_title": {"es": "Los {n} tokens más probables", "en": "The {n} most likely tokens"},
    "learn_softmax_token": {"es": "token", "en": "token"},
    "learn_softmax_prob": {"es": "probabilidad", "en": "probability"},
    "learn_softmax_prob_t1": {"es": "a temperatura 1", "en": "at temperature 1"},
    "learn_softmax_state": {"es": "en el sorteo", "en": "in the draw"},
    "learn_softmax_kept": {"es": "entra en el sorteo", "en": "in the draw"},
    "learn_softmax_cut": {"es": "cortado por top-k / top-p", "en": "cut by top-k / top-p"},
    "learn_softmax_reading": {
        "es": "A temperatura {temp}, «{top}» tiene un {p} de probabilidad (a temperatura 1, un {p1}). Los 15 "
              "primeros suman el {mass}; los otros {rest} tokens se reparten lo que queda.",
        "en": "At temperature {temp}, “{top}” has a {p} probability (at temperature 1, {p1}). The top 15 add "
              "up to {mass}; the other {rest} tokens share what is left.",
    },
    "learn_softmax_cut_note": {
        "es": "Con estos cortes solo **{kept}** tokens entran en el sorteo; sus probabilidades se reparten de "
              "nuevo para sumar 100 %.",
        "en": "With these cut-offs only **{kept}** tokens are in the draw; their probabilities are shared out "
              "again to add up to 100%.",
    },
    "learn_softmax_how": {
        "es": "La barra es la probabilidad a la temperatura elegida; la rayita negra, la de temperatura 1 (las "
              "puntuaciones tal cual). Las barras grises son tokens que los cortes dejan fuera.",
        "en": "The bar is the probability at the chosen temperature; the black tick, the one at temperature 1 "
              "(the scores as they are). Grey bars are tokens the cut-offs leave out.",
    },
    "learn_softmax_samples_title": {"es": "Sorteos a esta temperatura", "en": "Draws at this temperature"},
    "learn_softmax_samples_intro": {
        "es": "Cada línea es un sorteo distinto: el modelo escribe {n} tokens más, eligiendo cada uno al azar "
              "con estas reglas.",
        "en": "Each line is a different draw: the model writes {n} more tokens, picking each one at random with "
              "these rules.",
    },
    "learn_softmax_again": {"es": "Sortear otra vez", "en": "Draw again"},
    "learn_softmax_greedy_title": {"es": "¿Y «greedy»?", "en": "And “greedy”?"},
    "learn_softmax_greedy": {
        "es": "**Greedy** (avaricioso) significa no sortear: tomar siempre el token más probable. Es lo que pasa "
              "cuando la temperatura se acerca a 0. Sale siempre el mismo texto, y a menudo se queda dando "
              "vueltas en una repetición. Con tu modelo y este comienzo, greedy escribe:",
        "en": "**Greedy** means not drawing at all: always taking the most likely token. It is what happens as "
              "the temperature approaches 0. It always gives the same text, and often gets stuck going round in "
              "a repetition. With your model and this start, greedy writes:",
    },
}
