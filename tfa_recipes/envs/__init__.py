"""Environment loading: the suites the tutorials use, with errors a user can read.

`gym` (suite_gym, seeded), `gymnasium` (`gymnasium:<id>` as PyEnvironments), `atari`
(suite_atari on ale-py's ROMs; `atari_games` names them without loading TensorFlow),
`pixels` (CartPole through screen patches), `grid` (Hands-On ML's custom PyEnvironment),
`tf_py` (the tutorials' TFPyEnvironment). Importing this package loads none of them.
"""
