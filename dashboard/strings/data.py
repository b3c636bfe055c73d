"""Data page."""

STRINGS = {
    "da_title": {"es": "Los textos que leyó el modelo", "en": "The texts the model read"},
    "da_intro": {
        "es": "Un modelo de lenguaje solo sabe lo que ha leído. Aquí ves de dónde salieron los textos, qué se "
              "quitó al limpiarlos y cómo se cortaron en *tokens*, los trocitos de texto con los que trabaja.",
        "en": "A language model only knows what it has read. Here you see where the texts came from, what was "
              "removed when cleaning them and how they were cut into *tokens*, the small pieces of text it "
              "works with.",
    },
    "da_what_summary": {"es": "ningún texto reunido", "en": "collected text"},
    "da_what_clean": {"es": "ningún resumen de la limpieza", "en": "cleaning summary"},
    "da_what_tokens": {"es": "ningún texto convertido en tokens", "en": "text cut into tokens"},
    "da_lang_es": {"es": "español", "en": "Spanish"},
    "da_lang_en": {"es": "inglés", "en": "English"},
    "da_mb": {"es": "{n} MB", "en": "{n} MB"},
    # what the model read
    "da_read_title": {"es": "Qué leyó el modelo", "en": "What the model read"},
    "da_lang_share": {"es": "un {share} en {lang}", "en": "{share} in {lang}"},
    "da_and": {"es": " y ", "en": " and "},
    "da_bias": {
        "es": "El texto que leyó el modelo está {parts} (medido en bytes). Lo que más lee es lo que mejor "
              "aprenderá, y de estos textos salen también sus sesgos: sus temas, su forma de hablar y sus ideas.",
        "en": "The text the model read is {parts} (measured in bytes). What it reads most is what it will "
              "learn best, and its biases come from these texts too: their topics, their way of speaking and "
              "their ideas.",
    },
    "da_bias_top": {
        "es": "La fuente más grande es **{source}** ({share} de los caracteres): el modelo se parecerá un poco a ella.",
        "en": "The biggest source is **{source}** ({share} of the characters): the model will sound a bit like it.",
    },
    "da_chars_millions": {"es": "Caracteres conservados (millones)", "en": "Characters kept (millions)"},
    "da_col_lang": {"es": "Idioma", "en": "Language"},
    "da_col_source": {"es": "Fuente", "en": "Source"},
    "da_col_docs": {"es": "Documentos", "en": "Documents"},
    "da_col_docs_kept": {"es": "Documentos tras limpiar", "en": "Documents after cleaning"},
    "da_col_chars": {"es": "Caracteres", "en": "Characters"},
    "da_col_chars_kept": {"es": "Caracteres tras limpiar", "en": "Characters after cleaning"},
    "da_col_size": {"es": "Tamaño", "en": "Size"},
    "da_col_size_kept": {"es": "Tamaño tras limpiar", "en": "Size after cleaning"},
    "da_col_share": {"es": "Parte del total", "en": "Share of all"},
    "da_col_why": {"es": "Motivo", "en": "Reason"},
    "da_col_code": {"es": "Código", "en": "Code"},
    "da_col_units": {"es": "Trozos", "en": "Pieces"},
    "da_skipped_title": {
        "es": "Lo que se dejó fuera al reunir los textos ({n} motivos)",
        "en": "What was left out while gathering the texts ({n} reasons)",
    },
    "da_skipped_help": {
        "es": "Antes de limpiar, al leer cada fuente se saltan trozos que no sirven (otro idioma, páginas "
              "legales, copias). Los motivos están en inglés, tal como los escribe el paso que los reúne.",
        "en": "Before cleaning, reading each source skips pieces that are of no use (another language, legal "
              "pages, copies). The reasons are as the gathering step writes them.",
    },
    # the cleaning funnel
    "da_funnel_title": {"es": "Cómo se limpiaron", "en": "How they were cleaned"},
    "da_funnel_intro": {
        "es": "Entraron {before} documentos y salieron {after}: la limpieza quitó {dropped}. Cada filtro se "
              "aplica por orden; unos quitan documentos enteros y otros solo los arreglan.",
        "en": "{before} documents went in and {after} came out: cleaning removed {dropped}. The filters run in "
              "order; some remove whole documents and others only fix them.",
    },
    "da_col_step": {"es": "Filtro", "en": "Filter"},
    "da_col_before": {"es": "Entran", "en": "In"},
    "da_col_dropped": {"es": "Quitados", "en": "Removed"},
    "da_col_changed": {"es": "Arreglados", "en": "Fixed"},
    "da_col_after": {"es": "Quedan", "en": "Left"},
    "da_col_chars_removed": {"es": "Caracteres quitados", "en": "Characters removed"},
    "da_col_id": {"es": "Documento", "en": "Document"},
    "da_col_detail": {"es": "Detalle (técnico)", "en": "Detail (technical)"},
    "da_col_excerpt": {"es": "Fragmento", "en": "Excerpt"},
    "da_dropped": {"es": "documentos quitados", "en": "documents removed"},
    "da_changed": {"es": "documentos arreglados", "en": "documents fixed"},
    "da_filter_expander": {
        "es": "{name}: {dropped} quitados, {changed} arreglados",
        "en": "{name}: {dropped} removed, {changed} fixed",
    },
    "da_examples": {"es": "Algunos ejemplos, tal como estaban:", "en": "A few examples, as they were:"},
    "da_filter_nothing": {"es": "Este filtro no tocó ningún documento.", "en": "This filter touched no document."},
    "da_f_normalize": {"es": "1. Normalizar", "en": "1. Normalise"},
    "da_f_boilerplate": {"es": "2. Quitar avisos legales", "en": "2. Remove legal notices"},
    "da_f_scrub_pii": {"es": "3. Borrar correos y teléfonos", "en": "3. Scrub e-mails and phones"},
    "da_f_length": {"es": "4. Longitud", "en": "4. Length"},
    "da_f_quality": {"es": "5. Calidad", "en": "5. Quality"},
    "da_f_language": {"es": "6. Idioma", "en": "6. Language"},
    "da_f_dedup": {"es": "7. Quitar repetidos", "en": "7. Remove repeats"},
    "da_fdesc_normalize": {
        "es": "Unifica cómo se escriben las letras (acentos, saltos de línea) y quita caracteres de control "
              "invisibles.",
        "en": "Writes every letter and line end in one standard way and removes invisible control characters.",
    },
    "da_fdesc_boilerplate": {
        "es": "Quita los avisos de licencia y copyright, los números de página y los números de versículo.",
        "en": "Removes licence and copyright notices, page numbers and verse numbers.",
    },
    "da_fdesc_scrub_pii": {
        "es": "Cambia las direcciones de correo por `<email>` y los teléfonos por `<phone>` (si está encendido).",
        "en": "Replaces e-mail addresses by `<email>` and phone numbers by `<phone>` (when switched on).",
    },
    "da_fdesc_length": {
        "es": "Quita los documentos demasiado cortos o demasiado largos.",
        "en": "Removes documents that are too short or too long.",
    },
    "da_fdesc_quality": {
        "es": "Quita texto que no parece escrito por una persona: listas que repiten la misma frase, palabras "
              "rarísimas, casi sin letras…",
        "en": "Removes text that does not look written by a person: lists repeating the same phrase, very odd "
              "words, hardly any letters…",
    },
    "da_fdesc_language": {
        "es": "Averigua el idioma de cada documento y quita los que no están en español ni en inglés.",
        "en": "Works out each document's language and removes those in neither Spanish nor English.",
    },
    "da_fdesc_dedup": {
        "es": "Quita los documentos repetidos o casi repetidos: leer lo mismo dos veces no enseña nada nuevo.",
        "en": "Removes repeated and nearly repeated documents: reading the same thing twice teaches nothing new.",
    },
    "da_reason_dedup_near": {"es": "casi igual que otro documento", "en": "nearly the same as another document"},
    "da_reason_dedup_exact": {"es": "copia exacta de otro documento", "en": "exact copy of another document"},
    "da_reason_dedup": {"es": "repetido ({detail})", "en": "repeated ({detail})"},
    "da_reason_language_low_confidence": {
        "es": "no se sabe bien en qué idioma está",
        "en": "its language is unclear",
    },
    "da_reason_language": {"es": "está en otro idioma (código {detail})", "en": "in another language (code {detail})"},
    "da_reason_length_too_short": {"es": "demasiado corto", "en": "too short"},
    "da_reason_length_too_long": {"es": "demasiado largo", "en": "too long"},
    "da_reason_quality": {
        "es": "no parece texto normal (regla {detail})",
        "en": "does not look like normal text (rule {detail})",
    },
    "da_reason_boilerplate_empty": {
        "es": "solo tenía avisos legales",
        "en": "it was only legal notices",
    },
    # e-mails and phones
    "da_pii_title": {"es": "Correos y teléfonos borrados", "en": "E-mails and phone numbers scrubbed"},
    "da_pii_off": {
        "es": "El borrado de correos y teléfonos está **apagado**: los textos se usan tal cual. Para encenderlo, "
              "escribe esto en `params.yaml` y vuelve a ejecutar `make run`:",
        "en": "Scrubbing e-mails and phone numbers is **off**: the texts are used as they are. To switch it on, "
              "write this in `params.yaml` and run `make run` again:",
    },
    "da_pii_emails": {"es": "Correos cambiados por `<email>`", "en": "E-mails replaced by `<email>`"},
    "da_pii_phones": {"es": "Teléfonos cambiados por `<phone>`", "en": "Phone numbers replaced by `<phone>`"},
    "da_pii_emails_help": {
        "es": "Direcciones de correo encontradas en la última limpieza, también en documentos que luego se quitaron.",
        "en": "E-mail addresses found in the last cleaning, also in documents removed later.",
    },
    "da_pii_phones_help": {
        "es": "Números de teléfono encontrados en la última limpieza, también en documentos que luego se quitaron.",
        "en": "Phone numbers found in the last cleaning, also in documents removed later.",
    },
    "da_pii_old": {
        "es": "La última limpieza se hizo con una versión que todavía no contaba los correos y teléfonos. "
              "`make run` la repite y los cuenta.",
        "en": "The last cleaning was made by a version that did not count e-mails and phone numbers yet. "
              "`make run` redoes it and counts them.",
    },
    # tokens
    "da_tok_title": {"es": "Cómo se cortó en tokens", "en": "How it was cut into tokens"},
    "da_tok_intro": {
        "es": "El modelo no lee letras sino *tokens*: trozos de palabra aprendidos de los propios textos. Casi "
              "todo el texto sirve para entrenar; una parte pequeña (validación) se guarda aparte para "
              "comprobar cómo le va con texto que nunca estudió.",
        "en": "The model reads *tokens*, not letters: pieces of words learnt from the texts themselves. Nearly "
              "all the text is used for training; a small part (validation) is kept aside to check how it does "
              "on text it never studied.",
    },
    "da_col_split": {"es": "Parte", "en": "Part"},
    "da_col_tokens": {"es": "Tokens", "en": "Tokens"},
    "da_col_bpt": {"es": "Bytes por token", "en": "Bytes per token"},
    "da_split_train": {"es": "entrenamiento", "en": "training"},
    "da_split_val": {"es": "validación", "en": "validation"},
    "da_all_langs": {"es": "todos", "en": "all"},
    "da_bpt_metric": {"es": "Bytes por token en {lang}", "en": "Bytes per token in {lang}"},
    "da_bpt_value": {"es": "{n} bytes", "en": "{n} bytes"},
    "da_bpt_explain": {
        "es": "Bytes por token: cuántas letras (bytes) cabe, de media, en cada token. Cuantos más bytes por "
              "token, mejor conoce el tokenizador las palabras de ese idioma: las guarda enteras en vez de "
              "partirlas en trocitos, y el modelo lee más texto con el mismo esfuerzo.",
        "en": "Bytes per token: how many letters (bytes) fit, on average, in each token. The more bytes per "
              "token, the better the tokenizer knows that language's words: it keeps them whole instead of "
              "breaking them into bits, and the model reads more text for the same effort.",
    },
}
