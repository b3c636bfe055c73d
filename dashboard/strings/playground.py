"""Playground page."""

STRINGS = {
    "pg_title": {"es": "Generar texto, token a token", "en": "Generate text, token by token"},
    "pg_intro": {
        "es": "Escribe el principio de un texto y el modelo lo continúa. En cada paso elige un token (un trozo de "
              "palabra) según lo probable que le parece; la temperatura decide cuánto se arriesga.",
        "en": "Write the beginning of a text and the model continues it. At each step it picks a token (a piece "
              "of a word) by how likely it finds it; the temperature decides how much it gambles.",
    },
    "pg_prompt": {"es": "Tu texto", "en": "Your text"},
    "pg_prompt_default": {"es": "En un lugar de la Mancha, de cuyo nombre", "en": "It is a truth universally acknowledged"},
    "pg_temperature": {"es": "Temperatura", "en": "Temperature"},
    "pg_temperature_help": {
        "es": "0 = elige siempre el token más probable (siempre el mismo texto). 1 = tal como aprendió. "
              "Más de 1 = más sorpresas y más disparates.",
        "en": "0 = always the most likely token (the same text every time). 1 = as it learnt. "
              "Above 1 = more surprises and more nonsense.",
    },
    "pg_top_k": {"es": "Top-k", "en": "Top-k"},
    "pg_top_k_help": {
        "es": "Solo elige entre los k tokens más probables (0 = sin límite).",
        "en": "Picks only among the k most likely tokens (0 = no limit).",
    },
    "pg_top_p": {"es": "Top-p", "en": "Top-p"},
    "pg_top_p_help": {
        "es": "Solo elige entre los tokens más probables que juntos suman esta probabilidad (1 = sin límite).",
        "en": "Picks only among the most likely tokens that together add up to this probability (1 = no limit).",
    },
    "pg_max_new": {"es": "Tokens nuevos (máximo)", "en": "New tokens (at most)"},
    "pg_seed": {"es": "Semilla", "en": "Seed"},
    "pg_seed_help": {
        "es": "La misma semilla, el mismo modelo y el mismo texto dan siempre la misma continuación.",
        "en": "The same seed, model and text always give the same continuation.",
    },
    "pg_colour": {"es": "Colorear cada token por su probabilidad", "en": "Colour each token by its probability"},
    "pg_generate": {"es": "Generar", "en": "Generate"},
    "pg_stop": {"es": "Parar", "en": "Stop"},
    "pg_empty": {
        "es": "Escribe al menos una palabra para que el modelo tenga algo que continuar.",
        "en": "Write at least one word so the model has something to continue.",
    },
    "pg_too_long": {
        "es": "Tu texto tiene {n} caracteres; aquí el límite es {limit}, para que nadie ocupe el ordenador de todos. "
              "Acórtalo.",
        "en": "Your text has {n} characters; the limit here is {limit}, so that no one holds the shared computer. "
              "Shorten it.",
    },
    "pg_cropped": {
        "es": "Tu texto tiene {n} tokens y la ventana del modelo solo {window}: el modelo ve solo los últimos {keep}.",
        "en": "Your text has {n} tokens and the model's window only {window}: the model sees only the last {keep}.",
    },
    "pg_will_slide": {
        "es": "Texto y continuación no caben juntos en la ventana de {window} tokens: al llenarse, el modelo "
              "olvida el principio.",
        "en": "Text and continuation do not fit together in the {window}-token window: once it is full, the model "
              "forgets the beginning.",
    },
    "pg_stats": {
        "es": "{n} tokens en {seconds} s ({rate} tokens/s); el primero tardó {first} s.",
        "en": "{n} tokens in {seconds} s ({rate} tokens/s); the first took {first} s.",
    },
    "pg_end_stop_token": {"es": "El modelo dio el texto por terminado.", "en": "The model ended the text."},
    "pg_end_limit": {"es": "Llegó al máximo de tokens nuevos.", "en": "It reached the most new tokens."},
    "pg_end_stopped": {"es": "Lo paraste tú.", "en": "You stopped it."},
    "pg_tokens_title": {"es": "Cada token, coloreado por su probabilidad", "en": "Each token, coloured by its probability"},
    "pg_legend": {
        "es": "Verde: el modelo estaba seguro. Rojo: era poco probable y salió por azar. Pasa el ratón por "
              "encima para ver las alternativas.",
        "en": "Green: the model was sure. Red: it was unlikely and came out by chance. Hover over a token to "
              "see the alternatives.",
    },
    "pg_inspect": {"es": "Ver las alternativas del token número", "en": "See the alternatives of token number"},
    "pg_inspect_caption": {
        "es": "En el paso {i} salió «{piece}» (probabilidad {prob}). Estos eran los 5 tokens más probables:",
        "en": "At step {i} the model wrote “{piece}” (probability {prob}). These were the 5 most likely tokens:",
    },
    "pg_col_token": {"es": "Token", "en": "Token"},
    "pg_col_prob": {"es": "Probabilidad", "en": "Probability"},
    "pg_tooltip_prob": {"es": "probabilidad", "en": "probability"},
    "pg_what_model": {"es": "modelos entrenados", "en": "trained models"},
}
