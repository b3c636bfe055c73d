"""Strings of the "Aprende / Learn" path shared by every lesson."""

STRINGS = {
    "nav_learn": {"es": "Aprende", "en": "Learn"},
    "learn_progress": {"es": "Aprende · lección {n} de {total}", "en": "Learn · lesson {n} of {total}"},
    "learn_model_note": {
        "es": "Las lecciones usan este modelo, el que entrenaste tú:",
        "en": "The lessons use this model, the one you trained:",
    },
    "learn_one_in": {"es": "1 entre {n}", "en": "1 in {n}"},
    "learn_next": {"es": "Siguiente: {title}", "en": "Next: {title}"},
    "learn_again": {"es": "Volver a la primera lección", "en": "Back to the first lesson"},
    "learn_no_model": {
        "es": "Para ver esta lección en vivo hace falta un modelo entrenado. Créalo con `make run` (unos 12 minutos) "
              "y vuelve aquí.",
        "en": "To see this lesson live you need a trained model. Make one with `make run` (about 12 minutes) and "
              "come back.",
    },
}
