"""Lesson 9, limits: confident and wrong, what the data contained, privacy."""

STRINGS = {
    "learn_limits_title": {"es": "Límites", "en": "Limits"},
    "learn_limits_intro": {
        "es": "Un modelo de lenguaje no sabe si lo que dice es verdad: solo sabe qué palabras suelen venir "
              "después. Puede equivocarse con total seguridad, repite lo que había en sus datos (también sus "
              "sesgos) y puede soltar lo que leyó. Aquí lo ves con tu propio modelo.",
        "en": "A language model does not know whether what it says is true: it only knows which words tend to "
              "come next. It can be wrong with complete confidence, it repeats what its data held (biases "
              "included) and it can give back what it read. Here you see it with your own model.",
    },
    "learn_limits_wrong_title": {"es": "Seguro… y equivocado", "en": "Confident… and wrong"},
    "learn_limits_wrong_intro": {
        "es": "Preguntas de prueba que el modelo de chat falló (etapa *evaluate*), con la probabilidad que dio a "
              "su respuesta equivocada, de más a menos segura. Una probabilidad alta no significa que acierte.",
        "en": "Test questions the chat model got wrong (the *evaluate* stage), with the probability it gave its "
              "wrong answer, most confident first. A high probability does not mean it is right.",
    },
    "learn_limits_col_question": {"es": "pregunta", "en": "question"},
    "learn_limits_col_right": {"es": "respuesta correcta", "en": "right answer"},
    "learn_limits_col_said": {"es": "dijo el modelo", "en": "the model said"},
    "learn_limits_col_prob": {"es": "seguridad", "en": "confidence"},
    "learn_limits_wrong_count": {
        "es": "De {asked} preguntas de prueba en español, falló {wrong}; aquí van las {shown} en que estaba más seguro.",
        "en": "Of {asked} test questions in English it got {wrong} wrong; here are the {shown} it was surest of.",
    },
    "learn_limits_no_predictions": {
        "es": "respuestas de la etapa *evaluate* (`data/evaluate/predictions.jsonl`)",
        "en": "answers from the *evaluate* stage (`data/evaluate/predictions.jsonl`)",
    },
    "learn_limits_data_title": {"es": "Lo que había en los datos", "en": "What the data held"},
    "learn_limits_data_intro": {
        "es": "El modelo solo puede saber lo que leyó. Si una fuente o un idioma domina, el modelo habla como "
              "ella: de ahí vienen muchos sesgos. Esto es lo que leyó el tuyo, después de la limpieza.",
        "en": "The model can only know what it read. If one source or language dominates, the model talks like "
              "it: that is where many biases come from. This is what yours read, after cleaning.",
    },
    "learn_limits_source": {"es": "fuente", "en": "source"},
    "learn_limits_share": {"es": "parte del texto", "en": "share of the text"},
    "learn_limits_chars": {"es": "caracteres", "en": "characters"},
    "learn_limits_langs": {
        "es": "Por idiomas: {es} del texto en español y {en} en inglés.",
        "en": "By language: {es} of the text in Spanish and {en} in English.",
    },
    "learn_limits_no_summary": {
        "es": "resumen de la etapa *clean* (`data/clean/summary.json`)",
        "en": "summary of the *clean* stage (`data/clean/summary.json`)",
    },
    "learn_limits_privacy_title": {"es": "Privacidad", "en": "Privacy"},
    "learn_limits_privacy_intro": {
        "es": "Un modelo puede repetir de memoria trozos de lo que leyó, datos personales incluidos. Por eso la "
              "etapa *clean* tapa correos y teléfonos antes de entrenar. En tus datos tapó {emails} correos y "
              "{phones} teléfonos. Prueba el mismo filtro:",
        "en": "A model can repeat from memory pieces of what it read, personal data included. That is why the "
              "*clean* stage masks e-mail addresses and phone numbers before training. In your data it masked "
              "{emails} e-mails and {phones} phone numbers. Try the same filter:",
    },
    "learn_limits_privacy_text": {"es": "Un texto con datos personales", "en": "A text with personal data"},
    "learn_limits_privacy_default": {
        "es": "Escríbeme a ana.garcia@example.com o llámame al 612 345 678 antes del 3 de mayo de 2024.",
        "en": "Write to me at ana.garcia@example.com or call +1 415 555 0132 before 3 May 2024.",
    },
    "learn_limits_privacy_found": {
        "es": "Tapados: {emails} correos y {phones} teléfonos. Las fechas y los años no se tocan.",
        "en": "Masked: {emails} e-mails and {phones} phone numbers. Dates and years are left alone.",
    },
}
