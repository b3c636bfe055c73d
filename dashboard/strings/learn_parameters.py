"""Lesson 3, Parameters: the numbers training adjusts, where they live, and what more of them buys."""

STRINGS = {
    "learn_parameters_title": {"es": "Parámetros", "en": "Parameters"},
    "learn_parameters_intro": {
        "es": "Un **parámetro** es un número del modelo que el entrenamiento va ajustando, un poquito cada vez, "
              "para que acierte más la siguiente palabra. Todo lo que el modelo «sabe» está guardado en esos "
              "números; no hay ninguna lista de reglas escondida. Cuando se dice que un modelo es «grande», se "
              "habla de cuántos parámetros tiene.",
        "en": "A **parameter** is one number inside the model that training adjusts, a tiny bit at a time, so "
              "that it guesses the next word better. Everything the model “knows” is stored in those numbers; "
              "there is no hidden list of rules. When people call a model “large”, they mean how many parameters "
              "it has.",
    },
    "learn_parameters_total": {"es": "Parámetros de tu modelo", "en": "Your model's parameters"},
    "learn_parameters_memory": {"es": "Memoria (4 bytes cada uno)", "en": "Memory (4 bytes each)"},
    "learn_parameters_tensors": {"es": "Tablas de números", "en": "Tables of numbers"},
    "learn_parameters_where_title": {"es": "Dónde están", "en": "Where they live"},
    "learn_parameters_where_intro": {
        "es": "Los parámetros están repartidos en partes con oficios distintos. Los **embeddings** son la tabla "
              "con un vector por token (la lección anterior). La **atención** decide qué palabras anteriores mirar "
              "(la lección siguiente). El **MLP** transforma lo que ha reunido cada posición; suele ser la parte "
              "más grande. Las **normalizaciones** solo ajustan la escala de los números.",
        "en": "The parameters are spread over parts with different jobs. The **embeddings** are the table with "
              "one vector per token (the previous lesson). **Attention** decides which earlier words to look at "
              "(the next lesson). The **MLP** transforms what each position has gathered; it is usually the "
              "largest part. The **norms** only adjust the scale of the numbers.",
    },
    "learn_parameters_part": {"es": "parte", "en": "part"},
    "learn_parameters_count": {"es": "parámetros", "en": "parameters"},
    "learn_parameters_share": {"es": "del total", "en": "of the total"},
    "learn_parameters_group_embeddings": {"es": "embeddings", "en": "embeddings"},
    "learn_parameters_group_attention": {"es": "atención", "en": "attention"},
    "learn_parameters_group_mlp": {"es": "MLP", "en": "MLP"},
    "learn_parameters_group_norms": {"es": "normalizaciones", "en": "norms"},
    "learn_parameters_group_head": {"es": "capa de salida", "en": "output head"},
    "learn_parameters_tied": {
        "es": "La capa de salida, que convierte el resultado en una puntuación para cada token, reutiliza la "
              "tabla de embeddings: no añade parámetros.",
        "en": "The output head, which turns the result into a score for every token, reuses the embedding "
              "table: it adds no parameters.",
    },
    "learn_parameters_layers": {
        "es": "Tu modelo apila **{layers}** capas iguales, cada una con su atención y su MLP.",
        "en": "Your model stacks **{layers}** identical layers, each with its own attention and MLP.",
    },
    "learn_parameters_one_title": {"es": "Un parámetro de verdad", "en": "One real parameter"},
    "learn_parameters_one_base": {
        "es": "Este es uno de ellos: el primer número del vector de «{piece}» vale **{value}**. Empezó siendo un "
              "número al azar y el entrenamiento lo movió {steps} veces, una por paso. Solo no significa nada; "
              "junto con los demás, sí.",
        "en": "Here is one of them: the first number of the vector of “{piece}” is **{value}**. It started as a "
              "random number and training moved it {steps} times, once per step. Alone it means nothing; "
              "together with all the others, it does.",
    },
    "learn_parameters_one_chat": {
        "es": "Este es uno de ellos: el primer número del vector de «{piece}» vale **{value}**. Empezó siendo un "
              "número al azar; el preentrenamiento lo fue moviendo paso a paso, y el ajuste fino lo movió {steps} "
              "veces más. Solo no significa nada; junto con los demás, sí.",
        "en": "Here is one of them: the first number of the vector of “{piece}” is **{value}**. It started as a "
              "random number; pre-training moved it step by step, and fine-tuning moved it {steps} more times. "
              "Alone it means nothing; together with all the others, it does.",
    },
    "learn_parameters_scale_title": {"es": "Comparado con modelos famosos", "en": "Compared with famous models"},
    "learn_parameters_scale_intro": {
        "es": "La escala es logarítmica: cada marca vale diez veces más que la anterior. En una escala normal tu "
              "modelo sería invisible al lado de GPT-3.",
        "en": "The scale is logarithmic: each mark is ten times the one before. On an ordinary scale your model "
              "would be invisible next to GPT-3.",
    },
    "learn_parameters_model": {"es": "modelo", "en": "model"},
    "learn_parameters_yours": {"es": "el tuyo", "en": "yours"},
    "learn_parameters_times": {
        "es": "GPT-2 tiene {gpt2} veces más parámetros que el tuyo, y GPT-3, {gpt3} veces más.",
        "en": "GPT-2 has {gpt2} times as many parameters as yours, and GPT-3 {gpt3} times as many.",
    },
    "learn_parameters_sources": {
        "es": "Fuentes: GPT-2, 124 millones en su versión más pequeña (Radford y otros, 2019); GPT-3, 175 000 "
              "millones (Brown y otros, 2020).",
        "en": "Sources: GPT-2, 124 million in its smallest version (Radford et al., 2019); GPT-3, 175 billion "
              "(Brown et al., 2020).",
    },
    "learn_parameters_more_title": {"es": "¿Qué dan más parámetros?", "en": "What do more parameters buy?"},
    "learn_parameters_more_intro": {
        "es": "Más parámetros pueden guardar más cosas, pero cuestan más tiempo de entrenamiento, y con pocos "
              "datos o poco tiempo no siempre ganan. Cada punto es un entrenamiento tuyo (un experimento de DVC): "
              "cuanto más abajo, mejor predice el modelo (menos bits por byte).",
        "en": "More parameters can store more, but they cost more training time, and with little data or little "
              "time they do not always win. Each dot is one of your training runs (a DVC experiment): the lower "
              "it is, the better the model predicts (fewer bits per byte).",
    },
    "learn_parameters_bpb": {"es": "bits por byte (menos es mejor)", "en": "bits per byte (lower is better)"},
    "learn_parameters_minutes": {"es": "minutos de entrenamiento", "en": "training minutes"},
    "learn_parameters_run": {"es": "entrenamiento", "en": "run"},
    "learn_parameters_acc": {"es": "aciertos en tareas del chat", "en": "chat task accuracy"},
    "learn_parameters_budget": {"es": "presupuesto", "en": "budget"},
    "learn_parameters_budget_tokens": {"es": "mismos tokens", "en": "same tokens"},
    "learn_parameters_budget_seconds": {"es": "mismo tiempo", "en": "same time"},
    "learn_parameters_budget_run": {"es": "tus experimentos", "en": "your experiments"},
    "learn_parameters_sweep_caption": {
        "es": "De `make sweep` (plots/sweep/sizes.csv): todo el proceso con cada tamaño. Con los mismos tokens, "
              "un modelo mayor cuesta más cálculo; con el mismo tiempo, ve menos texto.",
        "en": "From `make sweep` (plots/sweep/sizes.csv): the whole pipeline at each size. With the same tokens, a "
              "bigger model costs more compute; with the same time, it reads less text.",
    },
    "learn_parameters_none": {
        "es": "Aún no hay entrenamientos de varios tamaños para comparar ({found} con resultados). Esta orden "
              "entrena todo el proceso con cuatro tamaños, del más pequeño al más grande, con los mismos tokens y "
              "con el mismo tiempo (cada uno es un experimento de DVC; en un portátil tarda horas):",
        "en": "There are no runs of several sizes to compare yet ({found} with results). This command trains the "
              "whole pipeline at four sizes, smallest to largest, with the same tokens and with the same time "
              "(each one a DVC experiment; on a laptop it takes hours):",
    },
}
