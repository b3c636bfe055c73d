"""Lesson 2, Embeddings: each token is a list of numbers, and similar tokens get similar lists."""

STRINGS = {
    "learn_embeddings_title": {"es": "Embeddings", "en": "Embeddings"},
    "learn_embeddings_intro": {
        "es": "Para el modelo, cada token es una lista de números: su **embedding** (o vector). Al principio esos "
              "números son al azar; durante el entrenamiento se van moviendo, y los tokens que aparecen en frases "
              "parecidas acaban con listas parecidas. Así el modelo guarda, sin que nadie se lo diga, qué palabras "
              "se parecen.",
        "en": "To the model, each token is a list of numbers: its **embedding** (or vector). At first those numbers "
              "are random; during training they move, and tokens that appear in similar sentences end up with "
              "similar lists. That is how the model stores, without anyone telling it, which words are alike.",
    },
    "learn_embeddings_size": {
        "es": "En tu modelo cada token es una lista de **{dim}** números, y hay {vocab} tokens: una tabla de "
              "{cells} números.",
        "en": "In your model each token is a list of **{dim}** numbers, and there are {vocab} tokens: a table of "
              "{cells} numbers.",
    },
    "learn_embeddings_word": {"es": "Una palabra", "en": "A word"},
    "learn_embeddings_word_default": {"es": "casa", "en": "house"},
    "learn_embeddings_vector": {
        "es": "Los {dim} números de «{piece}» (token {id}):",
        "en": "The {dim} numbers of “{piece}” (token {id}):",
    },
    "learn_embeddings_several": {
        "es": "«{word}» son {n} tokens: arriba y abajo se usa la media de sus vectores.",
        "en": "“{word}” is {n} tokens: above and below, the mean of their vectors is used.",
    },
    "learn_embeddings_pieces": {
        "es": "Tu vocabulario tiene pocas palabras enteras, así que el mapa muestra {n} trozos de palabra.",
        "en": "Your vocabulary holds few whole words, so the map shows {n} pieces of words.",
    },
    "learn_embeddings_too_few": {
        "es": "Tu vocabulario solo tiene {n} trozos con letras: hacen falta al menos 3 para dibujar un mapa. Un "
              "vocabulario mayor (`tokenizer.vocab_size` en params.yaml) tendrá más.",
        "en": "Your vocabulary has only {n} pieces with letters: a map needs at least 3. A larger vocabulary "
              "(`tokenizer.vocab_size` in params.yaml) will have more.",
    },
    "learn_embeddings_col_index": {"es": "posición", "en": "position"},
    "learn_embeddings_col_value": {"es": "valor", "en": "value"},
    "learn_embeddings_map_title": {"es": "El mapa de las palabras", "en": "The map of words"},
    "learn_embeddings_map_intro": {
        "es": "No podemos dibujar {dim} dimensiones, así que las aplastamos en dos con un método llamado PCA: busca "
              "las dos direcciones en las que las palabras más se diferencian. Cada punto es una palabra de tu "
              "vocabulario; pasa el ratón por encima para leerla.",
        "en": "We cannot draw {dim} dimensions, so we flatten them into two with a method called PCA: it finds the "
              "two directions in which the words differ most. Each dot is a word of your vocabulary; hover over it "
              "to read it.",
    },
    "learn_embeddings_how_many": {"es": "Palabras en el mapa", "en": "Words on the map"},
    "learn_embeddings_axes": {
        "es": "Estos dos ejes recogen el {a} y el {b} de toda la variación: el mapa es una sombra de algo mucho más "
              "grande.",
        "en": "These two axes hold {a} and {b} of all the variation: the map is a shadow of something much larger.",
    },
    "learn_embeddings_axis": {"es": "eje {n}", "en": "axis {n}"},
    "learn_embeddings_lang": {"es": "idioma", "en": "language"},
    "learn_embeddings_word_col": {"es": "palabra", "en": "word"},
    "learn_embeddings_lang_es": {"es": "español", "en": "Spanish"},
    "learn_embeddings_lang_en": {"es": "inglés", "en": "English"},
    "learn_embeddings_lang_both": {"es": "los dos", "en": "both"},
    "learn_embeddings_lang_none": {"es": "sin datos", "en": "no data"},
    "learn_embeddings_lang_note": {
        "es": "El color dice en qué idioma aparece más cada palabra en los textos limpios del proyecto.",
        "en": "The colour says in which language each word appears most in the project's cleaned texts.",
    },
    "learn_embeddings_no_lang": {
        "es": "Sin los textos limpios (etapa *clean*) no se puede colorear por idioma.",
        "en": "Without the cleaned texts (the *clean* stage) the words cannot be coloured by language.",
    },
    "learn_embeddings_near_title": {"es": "Vecinos más cercanos", "en": "Nearest neighbours"},
    "learn_embeddings_near_intro": {
        "es": "Las palabras cuyo vector apunta en la dirección más parecida a la de «{word}» (similitud del coseno: "
              "1 es la misma dirección, 0 nada que ver). En un modelo pequeño los vecinos a veces se parecen más "
              "por la forma que por el significado.",
        "en": "The words whose vector points in the direction closest to that of “{word}” (cosine similarity: 1 "
              "is the same direction, 0 unrelated). In a small model neighbours are sometimes alike in form more "
              "than in meaning.",
    },
    "learn_embeddings_col_near": {"es": "vecino", "en": "neighbour"},
    "learn_embeddings_col_sim": {"es": "similitud", "en": "similarity"},
}
