"""Lesson 8, pre-training versus fine-tuning: the same prompt to both models, their curves, the data."""

STRINGS = {
    "learn_stages_title": {"es": "Preentrenar y ajustar", "en": "Pre-training and fine-tuning"},
    "learn_stages_intro": {
        "es": "Un modelo de chat se hace en dos pasos. **Preentrenar**: leer muchísimo texto y aprender a "
              "adivinar la siguiente palabra; sale un modelo *base*, que solo sabe continuar textos. **Ajustar** "
              "(*fine-tuning*): seguir entrenándolo un poco con conversaciones y tareas resueltas; sale un modelo "
              "que contesta. Esta lección usa los dos modelos de tu proyecto.",
        "en": "A chat model is made in two steps. **Pre-training**: reading a great deal of text and learning to "
              "guess the next word; the result is a *base* model, which can only continue texts. **Fine-tuning**: "
              "training it a little more on conversations and solved tasks; the result is a model that answers. "
              "This lesson uses both of your project's models.",
    },
    "learn_stages_need_both": {
        "es": "Esta lección necesita los dos modelos, `models/base` y `models/chat`.",
        "en": "This lesson needs both models, `models/base` and `models/chat`.",
    },
    "learn_stages_prompt": {"es": "Lo mismo para los dos", "en": "The same for both"},
    "learn_stages_default": {"es": "¿Qué es un modelo de lenguaje?", "en": "What is a language model?"},
    "learn_stages_base": {"es": "Modelo base (continúa el texto)", "en": "Base model (continues the text)"},
    "learn_stages_chat": {"es": "Modelo de chat (contesta)", "en": "Chat model (answers)"},
    "learn_stages_next": {"es": "Siguiente token más probable", "en": "Most likely next tokens"},
    "learn_stages_token": {"es": "token", "en": "token"},
    "learn_stages_prob": {"es": "probabilidad", "en": "probability"},
    "learn_stages_same_words": {
        "es": "Los dos tienen los mismos parámetros de partida; el ajuste fino solo los movió un poco. Pero el "
              "base ve el texto tal cual y lo continúa, y el de chat lo ve envuelto en su plantilla, con el turno "
              "del asistente abierto: ha aprendido que ahí toca contestar.",
        "en": "Both start from the same parameters; fine-tuning only moved them a little. But the base model sees "
              "the text as it is and continues it, while the chat model sees it wrapped in its template, with the "
              "assistant's turn open: it has learnt that this is where an answer goes.",
    },
    "learn_stages_curves_title": {"es": "Las dos curvas de aprendizaje", "en": "The two learning curves"},
    "learn_stages_curves_intro": {
        "es": "La pérdida mide cuánto se equivoca el modelo al adivinar el siguiente token (menos es mejor). El "
              "preentrenamiento empieza desde cero; el ajuste fino empieza donde acabó, con otros datos.",
        "en": "The loss measures how wrong the model is when guessing the next token (lower is better). "
              "Pre-training starts from nothing; fine-tuning starts where it ended, on other data.",
    },
    "learn_stages_step": {"es": "paso", "en": "step"},
    "learn_stages_loss": {"es": "pérdida", "en": "loss"},
    "learn_stages_kind": {"es": "curva", "en": "curve"},
    "learn_stages_train": {"es": "entrenamiento", "en": "training"},
    "learn_stages_val": {"es": "validación", "en": "validation"},
    "learn_stages_pre": {"es": "Preentrenamiento", "en": "Pre-training"},
    "learn_stages_fine": {"es": "Ajuste fino", "en": "Fine-tuning"},
    "learn_stages_data_title": {"es": "Con qué se ajustó", "en": "What it was fine-tuned on"},
    "learn_stages_data_intro": {
        "es": "Ejemplos de verdad de los datos del ajuste fino. Cada uno es una conversación corta en la plantilla "
              "del chat. El modelo solo aprende de la parte en color (la respuesta y su fin de turno); lo gris "
              "es el contexto que lee pero no tiene que adivinar.",
        "en": "Real examples from the fine-tuning data. Each is a short conversation in the chat template. The "
              "model only learns from the coloured part (the answer and its end of turn); the grey part is "
              "context it reads but does not have to guess.",
    },
    "learn_stages_data_task": {"es": "Tarea", "en": "Task"},
}
