"""Each recipe's TensorFlow side: the wiring of its environment, agent, replay and roles.

`tfa_recipes/<recipe>.py` declares a recipe (its config, TensorFlow-free, so flags are
parsed and refused before TensorFlow loads); `builders/<recipe>.py` builds it.
"""
