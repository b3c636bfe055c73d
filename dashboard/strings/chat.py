"""Chat page."""

STRINGS = {
    "chat_title": {"es": "Conversa con tu modelo", "en": "Talk with your model"},
    "chat_intro": {
        "es": "El modelo de chat es el modelo base ajustado con conversaciones y tareas. Es muy pequeño: "
              "sabe repetir, decir en qué idioma le escribes y poco más; sus respuestas largas son a menudo "
              "disparates.",
        "en": "The chat model is the base model fine-tuned on conversations and tasks. It is very small: it "
              "can repeat, tell which language you write in and little else; its long answers are often nonsense.",
    },
    "chat_placeholder": {"es": "Escribe un mensaje…", "en": "Write a message…"},
    "chat_settings": {"es": "Ajustes de la respuesta", "en": "Reply settings"},
    "chat_max_new": {"es": "Largo máximo de cada respuesta (tokens)", "en": "Longest reply (tokens)"},
    "chat_regenerate": {"es": "Otra respuesta", "en": "Regenerate"},
    "chat_clear": {"es": "Borrar la conversación", "en": "Clear the conversation"},
    "chat_meter": {
        "es": "Ventana de contexto: {used} de {window} tokens usados ({reserve} reservados para la respuesta)",
        "en": "Context window: {used} of {window} tokens used ({reserve} kept for the reply)",
    },
    "chat_meter_help": {
        "es": "El modelo solo ve los últimos {window} tokens. Cuando la conversación no cabe, se olvidan los "
              "mensajes más antiguos.",
        "en": "The model sees only the last {window} tokens. When the conversation does not fit, the oldest "
              "messages are forgotten.",
    },
    "chat_near_full": {
        "es": "La ventana está casi llena: en el próximo turno el modelo empezará a olvidar los primeros mensajes.",
        "en": "The window is almost full: from the next turn the model will start forgetting the first messages.",
    },
    "chat_dropped": {
        "es": "El modelo ya no ve {n} mensajes antiguos (no cabían en la ventana):",
        "en": "The model no longer sees {n} old messages (they did not fit in the window):",
    },
    "chat_cut": {
        "es": "El último mensaje es más largo que la ventana: el modelo solo ve su final.",
        "en": "The last message is longer than the window: the model sees only its end.",
    },
    "chat_reply_stats": {"es": "{n} tokens · {rate} tokens/s", "en": "{n} tokens · {rate} tokens/s"},
    "chat_stopped": {"es": "parada por ti", "en": "stopped by you"},
    "chat_too_long": {
        "es": "Tu mensaje tiene {n} caracteres; el límite es {limit}. Acórtalo y vuelve a enviarlo.",
        "en": "Your message has {n} characters; the limit is {limit}. Shorten it and send it again.",
    },
    "chat_empty": {"es": "El mensaje está vacío.", "en": "The message is empty."},
    "chat_base_warning": {
        "es": "Este es un modelo base: no aprendió a conversar, solo a continuar texto. Elige «chat» para hablar.",
        "en": "This is a base model: it never learnt to converse, only to continue text. Pick “chat” to talk.",
    },
    "chat_role_user": {"es": "Tú", "en": "You"},
    "chat_role_assistant": {"es": "Modelo", "en": "Model"},
    "chat_no_reply": {"es": "(el modelo no escribió nada)", "en": "(the model wrote nothing)"},
}
