"""Training page."""

STRINGS = {
    "tr_title": {"es": "Cómo aprendió el modelo", "en": "How the model learnt"},
    "tr_intro": {
        "es": "El modelo aprende adivinando el siguiente trozo de texto (un *token*). La **pérdida** mide cuánto "
              "se equivoca al adivinar: cuanto más baja, mejor. La línea azul se mide con los textos que estudia; "
              "la naranja (validación), con textos que nunca ha visto. Si la naranja deja de bajar mientras la "
              "azul sigue bajando, el modelo está memorizando en vez de aprender.",
        "en": "The model learns by guessing the next piece of text (a *token*). The **loss** measures how wrong "
              "its guesses are: the lower, the better. The blue line is measured on the texts it studies; the "
              "orange one (validation) on texts it has never seen. If the orange line stops going down while "
              "the blue one keeps falling, the model is memorising instead of learning.",
    },
    "tr_tab_pretrain": {"es": "Pre-entrenamiento", "en": "Pre-training"},
    "tr_tab_finetune": {"es": "Ajuste para conversar", "en": "Fine-tuning"},
    "tr_pretrain_intro": {
        "es": "Primero el modelo lee todos los textos limpios y aprende a continuar frases: es el *modelo base*.",
        "en": "First the model reads all the clean texts and learns to continue sentences: the *base model*.",
    },
    "tr_finetune_intro": {
        "es": "Después se ajusta con conversaciones y tareas cortas (repetir, contar, traducir…) para que "
              "responda como un chat: es el *modelo de chat*.",
        "en": "Then it is tuned on conversations and short tasks (repeat, count, translate…) so that it "
              "answers like a chat: the *chat model*.",
    },
    "tr_what_pretrain": {"es": "ninguna curva de pre-entrenamiento", "en": "pre-training curve"},
    "tr_what_finetune": {"es": "ninguna curva del ajuste para conversar", "en": "fine-tuning curve"},
    "tr_what_evaluate": {"es": "ninguna evaluación de los modelos", "en": "evaluation of the models"},
    "tr_log": {"es": "Escala logarítmica", "en": "Log scale"},
    "tr_log_help": {
        "es": "Estira la parte baja del eje vertical: ayuda a ver los cambios pequeños del final.",
        "en": "Stretches the low end of the vertical axis: it helps to see the small changes near the end.",
    },
    "tr_train": {"es": "entrenamiento", "en": "training"},
    "tr_val": {"es": "validación (texto nuevo)", "en": "validation (unseen text)"},
    "tr_tip_curve": {"es": "Curva", "en": "Curve"},
    "tr_y_loss": {"es": "Pérdida (nats por token)", "en": "Loss (nats per token)"},
    "tr_y_lr": {"es": "Ritmo de aprendizaje", "en": "Learning rate"},
    "tr_x_step": {"es": "Paso de entrenamiento", "en": "Training step"},
    "tr_x_tokens": {"es": "Tokens leídos", "en": "Tokens read"},
    "tr_x_tokens_k": {"es": "Tokens leídos (miles)", "en": "Tokens read (thousands)"},
    "tr_x_tokens_m": {"es": "Tokens leídos (millones)", "en": "Tokens read (millions)"},
    "tr_lr_help": {
        "es": "El ritmo de aprendizaje dice cuánto cambia el modelo en cada paso: sube al principio "
              "(calentamiento) y luego baja poco a poco para afinar.",
        "en": "The learning rate says how much the model changes at each step: it rises at the start "
              "(warm-up) and then slowly falls to fine-tune.",
    },
    "tr_source_log": {
        "es": "Datos: el registro de la ejecución `{run}` (data/cache).",
        "en": "Data: the log of run `{run}` (data/cache).",
    },
    "tr_source_csv": {"es": "Datos: `{path}`.", "en": "Data: `{path}`."},
    "tr_step": {"es": "Paso", "en": "Step"},
    "tr_step_of": {"es": "{step} de {total}", "en": "{step} of {total}"},
    "tr_tokens_seen": {"es": "Tokens leídos", "en": "Tokens read"},
    "tr_speed": {"es": "Velocidad (tokens/s)", "en": "Speed (tokens/s)"},  # the unit in the label: the figure fits
    "tr_speed_help": {
        "es": "Cuántos tokens lee el modelo por segundo en el último tramo registrado.",
        "en": "How many tokens the model reads per second in the last logged stretch.",
    },
    "tr_eta": {"es": "Tiempo restante", "en": "Time left"},
    "tr_eta_help": {
        "es": "Calculado con el ritmo de los últimos pasos.",
        "en": "Worked out from the pace of the last steps.",
    },
    "tr_seconds": {"es": "unos {n} s", "en": "about {n} s"},
    "tr_minutes": {"es": "unos {n} min", "en": "about {n} min"},
    "tr_hours": {"es": "unas {n} h", "en": "about {n} h"},
    "tr_live": {
        "es": ":red[:material/radio_button_checked:] Entrenando ahora: esta parte se actualiza sola cada 2 segundos.",
        "en": ":red[:material/radio_button_checked:] Training now: this part updates itself every 2 seconds.",
    },
    "tr_stopped": {"es": "detenido", "en": "stopped"},
    "tr_stopped_help": {
        "es": "Esta ejecución se paró antes del último paso. `make run` la continúa desde donde se quedó.",
        "en": "This run stopped before its last step. `make run` carries on from where it stopped.",
    },
    "tr_finished": {"es": "terminado", "en": "finished"},
    # DVC experiments
    "tr_exp_title": {"es": "Comparar experimentos", "en": "Compare experiments"},
    "tr_exp_intro": {
        "es": "Un experimento es el mismo proceso con algún ajuste cambiado (por ejemplo, un modelo más grande). "
              "Marca filas de la tabla para dibujar sus curvas de pre-entrenamiento juntas. Las columnas con ⚙ "
              "son los ajustes de `params.yaml` que cambian entre filas.",
        "en": "An experiment is the same pipeline with some setting changed (a bigger model, say). Tick rows "
              "of the table to draw their pre-training curves together. The ⚙ columns are the `params.yaml` "
              "settings that differ between rows.",
    },
    "tr_exp_asking": {"es": "Preguntando a DVC por los experimentos…", "en": "Asking DVC for the experiments…"},
    "tr_exp_no_project": {
        "es": "Esta carpeta no es un proyecto DVC con git, así que no hay experimentos que comparar.",
        "en": "This folder is not a DVC project with git, so there are no experiments to compare.",
    },
    "tr_exp_timeout": {
        "es": "DVC tardó demasiado en contestar; vuelve a cargar la página en un rato.",
        "en": "DVC took too long to answer; reload the page in a while.",
    },
    "tr_exp_failed": {
        "es": "DVC no pudo listar los experimentos ahora (¿hay una ejecución en marcha?). Lo que dijo: {detail}",
        "en": "DVC could not list the experiments now (is a run in progress?). What it said: {detail}",
    },
    "tr_exp_bad_json": {
        "es": "DVC contestó algo que no se entiende; vuelve a cargar la página en un rato.",
        "en": "DVC gave an answer that cannot be read; reload the page in a while.",
    },
    "tr_exp_none": {
        "es": "Todavía no hay experimentos. Para probar otro ajuste sin perder este resultado, ejecuta por ejemplo:",
        "en": "There are no experiments yet. To try another setting without losing this result, run for example:",
    },
    "tr_exp_pick": {
        "es": "Marca una o más filas para ver sus curvas.",
        "en": "Tick one or more rows to see their curves.",
    },
    "tr_exp_overlay": {
        "es": "Línea continua: entrenamiento; puntos y línea discontinua: validación (texto nuevo). Más abajo es mejor.",
        "en": "Solid line: training; dots and dashed line: validation (unseen text). Lower is better.",
    },
    "tr_exp_no_curve": {
        "es": "Alguna fila marcada no tiene curva guardada: un experimento en cola, en marcha o fallido todavía "
              "no ha terminado de entrenar.",
        "en": "Some ticked row has no saved curve: a queued, running or failed experiment has not finished "
              "training yet.",
    },
    "tr_exp_workspace": {"es": "tu carpeta ahora", "en": "your folder now"},
    "tr_exp_baseline": {"es": "{name} (último commit)", "en": "{name} (last commit)"},
    "tr_exp_col_name": {"es": "Experimento", "en": "Experiment"},
    "tr_exp_col_rev": {"es": "Versión", "en": "Revision"},
    "tr_exp_col_created": {"es": "Creado", "en": "Created"},
    "tr_exp_col_state": {"es": "Estado", "en": "State"},
    "tr_exp_col_val_loss": {"es": "Pérdida de validación", "en": "Validation loss"},
    "tr_exp_col_bpb": {"es": "Bits por byte (base)", "en": "Bits per byte (base)"},
    "tr_exp_col_chat": {"es": "Aciertos del chat", "en": "Chat accuracy"},
    "tr_exp_state_done": {"es": "hecho", "en": "done"},
    "tr_exp_state_success": {"es": "hecho", "en": "done"},
    "tr_exp_state_queued": {"es": "en cola", "en": "queued"},
    "tr_exp_state_running": {"es": "en marcha", "en": "running"},
    "tr_exp_state_failed": {"es": "falló", "en": "failed"},
    # bits per byte
    "tr_bpb_title": {"es": "¿Cuánto comprime el texto?", "en": "How well does it compress text?"},
    "tr_bpb_explain": {
        "es": "Un modelo que adivina bien el texto también sabe comprimirlo. Los **bits por byte** dicen cuántos "
              "bits (ceros y unos) necesita para cada letra de un texto que nunca vio: **menos es mejor**. "
              "gzip, bz2 y xz son compresores normales y sirven de vara de medir: si el modelo baja de ellos, "
              "ha aprendido algo del idioma que ellos no saben.",
        "en": "A model that guesses text well can also compress it. **Bits per byte** says how many bits (zeros "
              "and ones) it needs for each letter of a text it never saw: **lower is better**. gzip, bz2 and xz "
              "are ordinary compressors and serve as a yardstick: if the model gets below them, it has learnt "
              "something about the language that they do not know.",
    },
    "tr_bpb_chat_worse": {
        "es": "El modelo de chat comprime peor que el base: se ajustó para responder preguntas cortas, no para "
              "continuar textos largos como los de la prueba.",
        "en": "The chat model compresses worse than the base one: it was tuned to answer short questions, not to "
              "continue long texts like those of the test.",
    },
    "tr_bpb_axis": {"es": "Bits por byte (menos es mejor)", "en": "Bits per byte (lower is better)"},
    "tr_bpb_base": {"es": "modelo base", "en": "base model"},
    "tr_bpb_chat": {"es": "modelo de chat", "en": "chat model"},
    "tr_bpb_model": {"es": "nuestros modelos", "en": "our models"},
    "tr_bpb_compressor": {"es": "compresores", "en": "compressors"},
    # tasks
    "tr_task_title": {"es": "Aciertos en tareas", "en": "Accuracy on tasks"},
    "tr_task_explain": {
        "es": "Porcentaje de respuestas correctas en tareas cortas con ejemplos que el modelo no vio al entrenar. "
              "El modelo base solo continúa texto, así que casi nunca acierta; el ajuste para conversar le "
              "enseña a responder.",
        "en": "Share of right answers on short tasks, with examples the model did not see in training. The "
              "base model only continues text, so it is almost never right; fine-tuning teaches it to answer.",
    },
    "tr_task_axis": {"es": "Aciertos", "en": "Right answers"},
    "tr_task_arithmetic": {"es": "sumar y restar", "en": "arithmetic"},
    "tr_task_count_words": {"es": "contar palabras", "en": "count words"},
    "tr_task_lang_id": {"es": "reconocer el idioma", "en": "name the language"},
    "tr_task_next_words": {"es": "adivinar las palabras siguientes", "en": "guess the next words"},
    "tr_task_repeat": {"es": "repetir", "en": "repeat"},
    "tr_task_reverse_words": {"es": "invertir palabras", "en": "reverse words"},
    "tr_task_translate": {"es": "traducir", "en": "translate"},
    "tr_task_which_is_longer": {"es": "¿qué palabra es más larga?", "en": "which word is longer?"},
    "tr_task_macro": {"es": "media de todas", "en": "average of all"},
    # replies to held-out small talk
    "tr_talk_title": {"es": "¿Sabe conversar?", "en": "Can it hold a conversation?"},
    "tr_talk_explain": {
        "es": "El modelo de chat responde a {n} saludos y preguntas que nunca vio al entrenar (en español y en "
              "inglés). Contamos cuántas respuestas están en el idioma de la pregunta, cuántas son una frase de "
              "verdad (3 palabras o más, casi todas palabras que existen) y cuánto se parecen a una buena "
              "respuesta (chrF, de 0 a 1).",
        "en": "The chat model answers {n} greetings and questions it never saw in training (in Spanish and "
              "English). We count how many replies are in the language of the question, how many are a real "
              "sentence (3 words or more, nearly all of them real words) and how close they are to a good reply "
              "(chrF, from 0 to 1).",
    },
    "tr_talk_language": {"es": "En el idioma de la pregunta", "en": "In the question's language"},
    "tr_talk_sentence": {"es": "Frases de verdad", "en": "Real sentences"},
    "tr_talk_chrf": {"es": "Parecido a una buena respuesta", "en": "Close to a good reply"},
    "tr_talk_col_lang": {"es": "Idioma de la pregunta", "en": "Question's language"},
    "tr_talk_col_prompts": {"es": "Preguntas", "en": "Questions"},
    "tr_talk_lang_es": {"es": "español", "en": "Spanish"},
    "tr_talk_lang_en": {"es": "inglés", "en": "English"},
    "tr_talk_known": {"es": "Palabras que existen", "en": "Real words"},
    # accuracy by turn in held-out multi-turn dialogues
    "tr_turns_title": {"es": "¿Sigue el hilo?", "en": "Does it keep the thread?"},
    "tr_turns_explain": {
        "es": "En {n} conversaciones que nunca vio, el modelo de chat resuelve tres tareas seguidas y luego una "
              "pregunta sobre su última respuesta («Repítelo», «¿Cuántas palabras tiene tu respuesta?»). Lo que "
              "contestó antes se queda en la conversación, como en un chat de verdad. Las tareas de los turnos 2 "
              "y 3 también se le preguntan solas, en una conversación nueva: la diferencia (debajo de cada cifra) "
              "es lo que le cuesta lo anterior.",
        "en": "In {n} conversations it never saw, the chat model solves three tasks in a row and then a question "
              "about its last answer (\"Say that again\", \"How many words is your answer?\"). What it answered "
              "before stays in the conversation, as in a real chat. The tasks of turns 2 and 3 are also asked "
              "alone, in a new conversation: the difference (under each figure) is what the earlier turns cost.",
    },
    "tr_turn_n": {"es": "Tarea, turno {k}", "en": "Task, turn {k}"},
    "tr_turn_vs_alone": {"es": "{d} pts frente a sola ({a})", "en": "{d} pts vs. alone ({a})"},
    "tr_turn_follow_up": {"es": "Pregunta sobre su respuesta", "en": "Question about its answer"},
}
