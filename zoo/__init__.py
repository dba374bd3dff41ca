"""The zoo: tuned hyperparameters (`zoo/hyperparams/<algo>.yml`) and the experiment command line."""
