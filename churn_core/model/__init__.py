"""Stage 4, *learn*: preprocessing fitted on the training split, the Keras MLP, training,
the model bundle (save / load, the one place a model is loaded) and prediction.

May import: ``churn_core.evaluate``, ``churn_core.data``, ``churn_core.io`` and the top-level
modules. TensorFlow / Keras are imported only inside the functions that need them.
"""
