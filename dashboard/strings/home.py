"""Home page."""

STRINGS = {
    "home_title": {"es": "Tu taller de modelos de lenguaje", "en": "Your language-model workshop"},
    "home_intro": {
        "es": "forja convierte texto en un modelo de lenguaje en ocho pasos: reúne y limpia textos, aprende a "
              "cortarlos en tokens, pre-entrena un modelo que continúa frases, lo ajusta para conversar y lo mide. "
              "Aquí ves cómo fue cada paso.",
        "en": "forja turns text into a language model in eight steps: it gathers and cleans texts, learns to cut "
              "them into tokens, pre-trains a model that continues sentences, fine-tunes it to converse and "
              "measures it. Here you see how each step went.",
    },
    "home_stages": {"es": "Los pasos del proceso", "en": "The steps of the pipeline"},
    "col_stage": {"es": "Paso", "en": "Step"},
    "col_what": {"es": "Qué hace", "en": "What it does"},
    "col_state": {"es": "Estado", "en": "State"},
    "col_ran": {"es": "Cuándo", "en": "When"},
    "col_took": {"es": "Duración", "en": "Took"},
    "col_figure": {"es": "Resultado", "en": "Result"},
    "state_done": {"es": "hecho", "en": "done"},
    "state_outdated": {"es": "desactualizado", "en": "outdated"},
    "state_never": {"es": "sin ejecutar", "en": "never run"},
    "state_unknown": {"es": "sin saber", "en": "unknown"},
    "stage_inputs": {"es": "Anota tus propios archivos", "en": "Notes your own files"},
    "stage_collect": {"es": "Reúne los textos", "en": "Gathers the texts"},
    "stage_clean": {"es": "Limpia y quita repetidos", "en": "Cleans and removes repeats"},
    "stage_tokenizer": {"es": "Aprende los tokens", "en": "Learns the tokens"},
    "stage_tokenize": {"es": "Convierte el texto en tokens", "en": "Turns the text into tokens"},
    "stage_pretrain": {"es": "Pre-entrena el modelo base", "en": "Pre-trains the base model"},
    "stage_finetune": {"es": "Lo ajusta para conversar", "en": "Fine-tunes it to converse"},
    "stage_evaluate": {"es": "Mide lo que aprendió", "en": "Measures what it learnt"},
    "stage_export": {"es": "Lo exporta a Hugging Face", "en": "Exports it to Hugging Face"},
    "head_documents": {"es": "{value} documentos", "en": "{value} documents"},
    "head_kept": {"es": "{value} documentos conservados", "en": "{value} documents kept"},
    "head_bytes_per_token": {"es": "{value} bytes por token (español)", "en": "{value} bytes per token (Spanish)"},
    "head_tokens": {"es": "{value} tokens de entrenamiento", "en": "{value} training tokens"},
    "head_val_loss": {"es": "pérdida de validación {value}", "en": "validation loss {value}"},
    "head_bpb": {"es": "{value} bits por byte", "en": "{value} bits per byte"},
    "head_megabytes": {"es": "{value} MB", "en": "{value} MB"},
    "seconds_short": {"es": "{value} s", "en": "{value} s"},
    "minutes_short": {"es": "{value} min", "en": "{value} min"},
    "next_all_done": {
        "es": "Todo está al día. Prueba el modelo en **Generar texto** o en **Chat**.",
        "en": "Everything is up to date. Try the model in **Playground** or **Chat**.",
    },
    "next_run": {
        "es": "Pasos que faltan o están desactualizados: {names}. Ejecuta en la carpeta del proyecto:",
        "en": "Steps missing or outdated: {names}. Run this in the project folder:",
    },
    "next_run_note": {
        "es": "`make run` repite solo los pasos que cambiaron; los demás se reutilizan.",
        "en": "`make run` reruns only the steps that changed; the rest are reused.",
    },
    "next_unknown": {
        "es": "DVC no pudo decir qué está al día ({why}). Los resultados de abajo son los últimos escritos.",
        "en": "DVC could not tell what is up to date ({why}). The results below are the last ones written.",
    },
    "run_in_progress": {
        "es": "Hay una ejecución en marcha (`make run`); entrenando ahora: {stages}. Los estados se verán al "
              "terminar; mientras, sigue las curvas en **Entrenamiento**.",
        "en": "A run is in progress (`make run`); training now: {stages}. The states will show when it ends; "
              "meanwhile, follow the curves in **Training**.",
    },
    "why_outdated": {"es": "Qué cambió: {why}", "en": "What changed: {why}"},
    "home_headlines": {"es": "Lo más importante", "en": "The headlines"},
    "metric_bpb": {"es": "Bits por byte (modelo base)", "en": "Bits per byte (base model)"},
    "metric_bpb_help": {
        "es": "Cuántos bits necesita el modelo por cada byte de texto nuevo: menos es mejor. xz, un compresor, "
              "necesita {xz}.",
        "en": "How many bits the model needs per byte of unseen text: lower is better. xz, a compressor, "
              "needs {xz}.",
    },
    "metric_chat": {"es": "Aciertos del chat en tareas", "en": "Chat model's task accuracy"},
    "metric_chat_help": {
        "es": "Media de aciertos en tareas nuevas para el modelo (repetir, contar, traducir…). El modelo base "
              "consigue {base}.",
        "en": "Average accuracy on tasks the model never saw (repeat, count, translate…). The base model "
              "gets {base}.",
    },
    "metric_tokens": {"es": "Tokens de entrenamiento", "en": "Training tokens"},
    "metric_docs": {"es": "Documentos limpios", "en": "Clean documents"},
    "prefect_link": {"es": "Ver las ejecuciones en la interfaz de Prefect", "en": "See the runs in the Prefect UI"},
    "state_checking": {"es": "preguntando a DVC…", "en": "asking DVC…"},
}
