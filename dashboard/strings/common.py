"""Strings every page shares: navigation, the language switch, what is missing."""

STRINGS = {
    "app_title": {"es": "forja: tu propio modelo de lenguaje", "en": "forja: your own language model"},
    "lang_label": {"es": "Idioma", "en": "Language"},
    "lang_es": {"es": "Español", "en": "Español"},
    "lang_en": {"es": "English", "en": "English"},
    "nav_home": {"es": "Inicio", "en": "Home"},
    "nav_training": {"es": "Entrenamiento", "en": "Training"},
    "nav_data": {"es": "Datos", "en": "Data"},
    "nav_playground": {"es": "Generar texto", "en": "Playground"},
    "nav_chat": {"es": "Chat", "en": "Chat"},
    "sidebar_project": {"es": "Proyecto: `{path}`", "en": "Project: `{path}`"},
    "missing_run": {
        "es": "Todavía no hay {what}. Se crea con `{command}` en la carpeta del proyecto.",
        "en": "There is no {what} yet. It is made by `{command}` in the project folder.",
    },
    "file_unreadable": {
        "es": "El archivo `{path}` está a medio escribir o dañado, así que no se puede leer ahora. Si hay una "
              "ejecución en marcha, espera a que termine; si no, vuelve a crearlo con `make run`.",
        "en": "The file `{path}` is half-written or damaged, so it cannot be read now. If a run is in progress, "
              "wait for it to finish; otherwise make it again with `make run`.",
    },
    "model_label": {"es": "Modelo", "en": "Model"},
    "model_kind_chat": {"es": "chat (ajustado para conversar)", "en": "chat (fine-tuned to converse)"},
    "model_kind_base": {"es": "base (solo continúa texto)", "en": "base (only continues text)"},
    "model_size": {
        "es": "{params} millones de parámetros, ventana de {context} tokens, paso {step}",
        "en": "{params} million parameters, a {context}-token window, step {step}",
    },
    "no_models": {
        "es": "No hay ningún modelo entrenado en este proyecto. Entrena uno con `make run` (unos 10 minutos).",
        "en": "This project has no trained model yet. Train one with `make run` (about 10 minutes).",
    },
    "model_broken": {"es": "Este modelo no se puede usar: {why}", "en": "This model cannot be used: {why}"},
    "loading_model": {"es": "Cargando el modelo…", "en": "Loading the model…"},
    "what_models": {"es": "modelos entrenados", "en": "trained models"},
}
