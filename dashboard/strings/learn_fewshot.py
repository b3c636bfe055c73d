"""Lesson 7, few-shot prompting: examples in the prompt instead of training."""

STRINGS = {
    "learn_fewshot_title": {"es": "Aprender con ejemplos (few-shot)", "en": "Learning from examples (few-shot)"},
    "learn_fewshot_intro": {
        "es": "Un modelo base solo sabe continuar textos. Para pedirle una tarea sin entrenarlo otra vez, se le "
              "pueden poner unos cuantos **ejemplos resueltos** al principio del texto: pregunta, respuesta, "
              "pregunta, respuesta… y al final la pregunta nueva. Eso es el *few-shot*: con cero ejemplos es "
              "*zero-shot*. Los modelos grandes aprenden así tareas nuevas; uno pequeño casi no.",
        "en": "A base model only knows how to continue texts. To ask it for a task without training it again, you "
              "can put a few **solved examples** at the start of the text: question, answer, question, answer… "
              "and at the end the new question. That is *few-shot*; with no examples it is *zero-shot*. Large "
              "models learn new tasks this way; a small one hardly does.",
    },
    "learn_fewshot_task": {"es": "Tarea", "en": "Task"},
    "learn_fewshot_item": {"es": "Pregunta (nunca vista en el entrenamiento)", "en": "Question (never seen in training)"},
    "learn_fewshot_k": {"es": "Ejemplos en el prompt", "en": "Examples in the prompt"},
    "learn_fewshot_no_tasks": {
        "es": "tareas de la etapa *finetune* (`data/finetune/tasks_heldout.jsonl`)",
        "en": "tasks from the *finetune* stage (`data/finetune/tasks_heldout.jsonl`)",
    },
    "learn_fewshot_prompt": {"es": "El prompt con {k} ejemplos", "en": "The prompt with {k} examples"},
    "learn_fewshot_right": {"es": "Respuesta correcta: **{answer}**", "en": "Right answer: **{answer}**"},
    "learn_fewshot_chart_title": {"es": "¿Ayudan los ejemplos?", "en": "Do the examples help?"},
    "learn_fewshot_chart_intro": {
        "es": "Para cada número de ejemplos, la probabilidad que da el modelo a la respuesta correcta y lo que "
              "contesta de verdad (sin azar: siempre el token más probable). La escala es logarítmica: un modelo "
              "pequeño a menudo da a la respuesta buena una posibilidad entre millones.",
        "en": "For each number of examples, the probability the model gives the right answer and what it really "
              "answers (no chance: always the most likely token). The scale is logarithmic: a small model often "
              "gives the right answer one chance in millions.",
    },
    "learn_fewshot_examples": {"es": "ejemplos", "en": "examples"},
    "learn_fewshot_prob": {"es": "probabilidad de la respuesta correcta", "en": "probability of the right answer"},
    "learn_fewshot_col_k": {"es": "ejemplos", "en": "examples"},
    "learn_fewshot_col_answer": {"es": "contesta", "en": "answers"},
    "learn_fewshot_col_ok": {"es": "¿bien?", "en": "right?"},
    "learn_fewshot_col_prob": {"es": "probabilidad", "en": "probability"},
    "learn_fewshot_yes": {"es": "sí", "en": "yes"},
    "learn_fewshot_no": {"es": "no", "en": "no"},
    "learn_fewshot_chat_title": {"es": "El modelo de chat, sin ejemplos", "en": "The chat model, with no examples"},
    "learn_fewshot_chat": {
        "es": "El modelo de chat se entrenó con tareas como esta, así que basta con preguntarle. A esta pregunta "
              "contesta: **{reply}** ({ok}).",
        "en": "The chat model was trained on tasks like this one, so just asking is enough. To this question it "
              "answers: **{reply}** ({ok}).",
    },
    "learn_fewshot_eval": {
        "es": "En todas las preguntas de prueba de esta tarea (etapa *evaluate*): el modelo base acierta el {b0} "
              "con 0 ejemplos, el {b1} con 1 y el {b3} con 3; el de chat, el {c0} sin ejemplos.",
        "en": "Over all the test questions of this task (the *evaluate* stage): the base model gets {b0} right "
              "with 0 examples, {b1} with 1 and {b3} with 3; the chat model, {c0} with none.",
    },
    "learn_fewshot_no_chat": {
        "es": "No hay modelo de chat (`models/chat`) para compararlo.",
        "en": "There is no chat model (`models/chat`) to compare with.",
    },
}
