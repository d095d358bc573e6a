"""Plausible buggy solutions of notebook 4 (neural networks); each must lose points on its own question only."""

from course.mutants import Mutant

NET = "two_layer_net_answer"
NET_TESTS = ("two_layer_net_tests",)
STEP = "training_step_answer"
STEP_TESTS = ("training_step_tests",)
MOMENTUM = "sgd_momentum_answer"
MOMENTUM_TESTS = ("sgd_momentum_tests",)
TUNED = "tuned_settings_answer"
TUNED_TESTS = ("tuned_settings_tests",)
OVERFIT = "overfit_settings_answer"
OVERFIT_TESTS = ("overfit_settings_tests",)
FCN = "fully_connected_net_answer"
FCN_TESTS = ("fully_connected_net_tests",)

#: From the constructor's learning rate to its use in update: one substitution can change both.
_MOMENTUM_RATE = ("        self.learning_rate = float(learning_rate)\n"
                  "        self.momentum = float(momentum)\n"
                  "        self.velocity = {name: np.zeros_like(param) for name, param in self.params.items()}\n"
                  "        ### END SOLUTION\n"
                  "\n"
                  "    def update(self, grads: dict[str, np.ndarray]) -> None:\n"
                  "        \"\"\"One momentum step for every parameter, in place.\"\"\"\n"
                  "        ### BEGIN SOLUTION\n"
                  "        for name, param in self.params.items():\n"
                  "            velocity = self.velocity[name]\n"
                  "            velocity *= self.momentum\n"
                  "            velocity -= self.learning_rate * ")

_MOMENTUM_STEP = ("            velocity *= self.momentum\n"
                  "            velocity -= self.learning_rate * np.asarray(grads[name], dtype=param.dtype)\n"
                  "            param += velocity")

MUTANTS = [
    # TwoLayerNet
    Mutant(name="net_forward_skips_relu", answer=NET,
           old="scores, fc2_cache = fc_forward(active, self.W2, self.b2)",
           new="scores, fc2_cache = fc_forward(hidden, self.W2, self.b2)", fails=NET_TESTS,
           description="feeds the pre-activation, not the ReLU output, into the second layer"),
    Mutant(name="net_relu_on_scores", answer=NET,
           old="cache = (fc1_cache, relu_cache, fc2_cache)",
           new="scores = np.maximum(scores, 0)\n        cache = (fc1_cache, relu_cache, fc2_cache)", fails=NET_TESTS,
           description="puts a ReLU after the last layer too"),
    Mutant(name="net_backward_skips_relu", answer=NET,
           old="grad_hidden = relu_backward(grad_active, relu_cache)", new="grad_hidden = grad_active",
           fails=NET_TESTS, description="forgets the ReLU in the backward pass"),
    Mutant(name="net_backward_swaps_bias_grads", answer=NET,
           old='grads = {"W1": grad_W1, "b1": grad_b1, "W2": grad_W2, "b2": grad_b2}',
           new='grads = {"W1": grad_W1, "b1": grad_b2, "W2": grad_W2, "b2": grad_b1}', fails=NET_TESTS,
           description="files the bias gradients under the wrong names"),
    Mutant(name="net_W1_not_scaled", answer=NET,
           old="self.W1 = (weight_scale * rng.standard_normal((input_dim, hidden_dim))).astype(dtype)",
           new="self.W1 = rng.standard_normal((input_dim, hidden_dim)).astype(dtype)", fails=NET_TESTS,
           description="forgets weight_scale for the first layer"),
    Mutant(name="net_draws_W2_first", answer=NET,
           old=("        self.W1 = (weight_scale * rng.standard_normal((input_dim, hidden_dim))).astype(dtype)\n"
                "        self.b1 = np.zeros(hidden_dim, dtype=dtype)\n"
                "        self.W2 = (weight_scale * rng.standard_normal((hidden_dim, num_classes))).astype(dtype)\n"),
           new=("        self.W2 = (weight_scale * rng.standard_normal((hidden_dim, num_classes))).astype(dtype)\n"
                "        self.W1 = (weight_scale * rng.standard_normal((input_dim, hidden_dim))).astype(dtype)\n"
                "        self.b1 = np.zeros(hidden_dim, dtype=dtype)\n"),
           fails=NET_TESTS, description="draws W2 before W1 (not the stated recipe, not reproducible)"),
    Mutant(name="net_bias_ignores_dtype", answer=NET,
           old="self.b1 = np.zeros(hidden_dim, dtype=dtype)", new="self.b1 = np.zeros(hidden_dim)", fails=NET_TESTS,
           description="a float64 bias in a float32 network"),
    Mutant(name="net_parameters_returns_copies", answer=NET,
           old='return {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}',
           new='return {"W1": self.W1.copy(), "b1": self.b1.copy(), "W2": self.W2.copy(), "b2": self.b2.copy()}',
           fails=NET_TESTS, description="parameters() hands out copies, so an optimizer cannot train the model"),

    # training_step
    Mutant(name="step_regularizes_biases", answer=STEP,
           old='if name.startswith("W"):', new='if name.startswith(("W", "b")):', fails=STEP_TESTS,
           description="applies L2 regularization to the biases as well"),
    Mutant(name="step_forgets_reg_gradient", answer=STEP,
           old="grads[name] = grads[name] + reg_grad", new="grads[name] = grads[name]", fails=STEP_TESTS,
           description="adds the regularization loss but not its gradient"),
    Mutant(name="step_forgets_reg_loss", answer=STEP,
           old="loss += reg_loss", new="loss += 0.0", fails=STEP_TESTS,
           description="adds the regularization gradient but not its loss"),
    Mutant(name="step_only_two_layer_names", answer=STEP,
           old='if name.startswith("W"):', new='if name in ("W1", "W2"):', fails=STEP_TESTS,
           description="regularizes W1 and W2 by name, so other models' weights are missed"),
    Mutant(name="step_reg_without_half", answer=STEP,
           old="reg_loss, reg_grad = l2_regularization(param, reg)",
           new="reg_loss, reg_grad = reg * np.sum(param ** 2), reg * param", fails=STEP_TESTS,
           description="writes the penalty by hand and drops the 1/2 (loss and gradient disagree)"),

    # SGDMomentum
    Mutant(name="momentum_wrong_sign", answer=MOMENTUM,
           old="velocity -= self.learning_rate * np.asarray(grads[name], dtype=param.dtype)",
           new="velocity += self.learning_rate * np.asarray(grads[name], dtype=param.dtype)", fails=MOMENTUM_TESTS,
           description="steps along the gradient instead of against it"),
    Mutant(name="momentum_rebinds_params", answer=MOMENTUM,
           old="            param += velocity", new="            self.params[name] = param + velocity",
           fails=MOMENTUM_TESTS, description="stores a new array instead of updating the model's array in place"),
    Mutant(name="momentum_fixed_0_9", answer=MOMENTUM,
           old="velocity *= self.momentum", new="velocity *= 0.9", fails=MOMENTUM_TESTS,
           description="ignores the momentum argument"),
    Mutant(name="momentum_forgets_velocity", answer=MOMENTUM,
           old="velocity = self.velocity[name]", new="velocity = np.zeros_like(param)", fails=MOMENTUM_TESTS,
           description="starts from zero velocity at every step (plain SGD)"),
    Mutant(name="momentum_moves_before_velocity_update", answer=MOMENTUM,
           old=_MOMENTUM_STEP,
           new=("            param += velocity\n"
                "            velocity *= self.momentum\n"
                "            velocity -= self.learning_rate * np.asarray(grads[name], dtype=param.dtype)"),
           fails=MOMENTUM_TESTS, description="moves with the old velocity, one step late"),

    Mutant(name="momentum_ignores_learning_rate_changes", answer=MOMENTUM,
           old=_MOMENTUM_RATE,
           new=_MOMENTUM_RATE.replace("        self.momentum = float(momentum)\n",
                                      "        self.momentum = float(momentum)\n"
                                      "        self.step_size = float(learning_rate)\n")
                             .replace("velocity -= self.learning_rate * ", "velocity -= self.step_size * "),
           fails=MOMENTUM_TESTS,
           description="keeps its own copy of the initial learning rate, so the trainer's lr_decay has no effect"),

    # tuned_settings
    Mutant(name="tuned_only_wider", answer=TUNED,
           old="settings.update(hidden_dim=200, learning_rate=0.2, lr_decay=0.9, batch_size=50, num_epochs=20, reg=1e-3)",
           new="settings.update(hidden_dim=200)", fails=TUNED_TESTS,
           description="changes the width but keeps the far too small learning rate"),
    Mutant(name="tuned_learning_rate_too_small", answer=TUNED,
           old="learning_rate=0.2,", new="learning_rate=0.002,", fails=TUNED_TESTS,
           description="a learning rate 100 times too small: learns, but far too slowly"),
    Mutant(name="tuned_learning_rate_too_large", answer=TUNED,
           old="learning_rate=0.2,", new="learning_rate=8.0,", fails=TUNED_TESTS,
           description="a learning rate so large that the loss blows up"),
    Mutant(name="tuned_batch_size_out_of_range", answer=TUNED,
           old="batch_size=50,", new="batch_size=5,", fails=TUNED_TESTS,
           description="a batch size outside the allowed range"),

    # overfit_settings
    Mutant(name="overfit_all_images", answer=OVERFIT,
           old="num_train=500)", new="num_train=None)", fails=OVERFIT_TESTS,
           description="trains on the whole training set, which is not allowed here"),
    Mutant(name="overfit_strong_reg", answer=OVERFIT,
           old="num_train=500)", new="num_train=500, reg=1.0)", fails=OVERFIT_TESTS,
           description="strong regularization prevents memorising"),
    Mutant(name="overfit_too_few_epochs", answer=OVERFIT,
           old="num_epochs=20,", new="num_epochs=2,", fails=OVERFIT_TESTS,
           description="stops long before the training set is memorised"),

    # FullyConnectedNet
    Mutant(name="fcn_relu_after_last_layer", answer=FCN,
           old="            if layer < self.num_layers:\n                out, relu_cache = relu_forward(out)",
           new="            out, relu_cache = relu_forward(out)", fails=FCN_TESTS,
           description="puts a ReLU after the output layer"),
    Mutant(name="fcn_backward_skips_relu", answer=FCN,
           old="grad = relu_backward(grad, relu_cache)", new="grad = grad", fails=FCN_TESTS,
           description="forgets the ReLUs in the backward pass"),
    Mutant(name="fcn_backward_stops_early", answer=FCN,
           old="for layer in range(self.num_layers, 0, -1):", new="for layer in range(self.num_layers, 1, -1):",
           fails=FCN_TESTS, description="the backward loop never reaches the first layer"),
    Mutant(name="fcn_caches_reversed", answer=FCN,
           old="fc_cache, relu_cache = cache[layer - 1]", new="fc_cache, relu_cache = cache[-layer]",
           fails=FCN_TESTS, description="takes the caches in the wrong order (only right for one layer)"),
    Mutant(name="fcn_weights_not_scaled", answer=FCN,
           old="(weight_scale * rng.standard_normal(shape)).astype(dtype)",
           new="rng.standard_normal(shape).astype(dtype)", fails=FCN_TESTS,
           description="forgets weight_scale"),
    Mutant(name="fcn_bias_ignores_dtype", answer=FCN,
           old="np.zeros(dims[layer], dtype=dtype)", new="np.zeros(dims[layer])", fails=FCN_TESTS,
           description="float64 biases in a float32 network"),
]
