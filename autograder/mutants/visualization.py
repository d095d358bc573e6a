"""Plausible buggy solutions of notebook 6 (class visualization); each must lose points on its own question only."""

from course.mutants import Mutant

GRADIENT = "input_gradient_answer"
GRADIENT_TESTS = ("input_gradient_tests",)
STEP = "ascent_step_answer"
STEP_TESTS = ("ascent_step_tests",)
LOOP = "class_visualization_answer"
LOOP_TESTS = ("class_visualization_tests",)

MUTANTS = [
    # input_gradient
    Mutant(name="gradient_of_loss_not_score", answer=GRADIENT,
           old="grad_scores = np.zeros_like(scores)\n    grad_scores[:, class_index] = 1.0",
           new="probs = np.exp(scores - scores.max(axis=1, keepdims=True))\n"
               "    probs /= probs.sum(axis=1, keepdims=True)\n"
               "    grad_scores = probs.copy()\n    grad_scores[:, class_index] -= 1.0",
           fails=GRADIENT_TESTS,
           description="backpropagates the softmax loss gradient (p - onehot) instead of a one-hot on the score"),
    Mutant(name="gradient_of_log_probability", answer=GRADIENT,
           old="grad_scores = np.zeros_like(scores)\n    grad_scores[:, class_index] = 1.0",
           new="probs = np.exp(scores - scores.max(axis=1, keepdims=True))\n"
               "    probs /= probs.sum(axis=1, keepdims=True)\n"
               "    grad_scores = -probs\n    grad_scores[:, class_index] += 1.0",
           fails=GRADIENT_TESTS,
           description="maximises log softmax probability of the class instead of its raw score"),
    Mutant(name="gradient_of_all_scores", answer=GRADIENT,
           old="grad_scores = np.zeros_like(scores)", new="grad_scores = np.ones_like(scores)",
           fails=GRADIENT_TESTS, description="upstream gradient of ones: the gradient of the sum of all scores"),
    Mutant(name="gradient_onehot_in_row", answer=GRADIENT,
           old="grad_scores[:, class_index] = 1.0", new="grad_scores[class_index] = 1.0",
           fails=GRADIENT_TESTS, description="puts the one-hot in row class_index instead of column class_index"),
    Mutant(name="gradient_skips_relu", answer=GRADIENT,
           old="grad_hidden = relu_backward(grad_activation, relu_cache)", new="grad_hidden = grad_activation",
           fails=GRADIENT_TESTS, description="forgets to backpropagate through the ReLU"),
    Mutant(name="gradient_of_first_layer_weights", answer=GRADIENT,
           old="grad_X, _, _ = fc_backward(grad_hidden, fc1_cache)",
           new="_, grad_X, _ = fc_backward(grad_hidden, fc1_cache)",
           fails=GRADIENT_TESTS, description="returns the gradient of W1 instead of the gradient of X"),
    # ascent_step
    Mutant(name="step_descends", answer=STEP,
           old="new_image = image + learning_rate * direction", new="new_image = image - learning_rate * direction",
           fails=STEP_TESTS, description="gradient descent instead of ascent: the score goes down"),
    Mutant(name="step_ignores_learning_rate", answer=STEP,
           old="new_image = image + learning_rate * direction", new="new_image = image + direction",
           fails=STEP_TESTS, description="forgets to multiply by the learning rate"),
    Mutant(name="step_weight_decay_sign", answer=STEP,
           old="- weight_decay * image", new="+ weight_decay * image",
           fails=STEP_TESTS, description="weight decay with the wrong sign: the image is pushed away from 0"),
    Mutant(name="step_clips_elementwise", answer=STEP,
           old="norm = np.linalg.norm(direction)\n        if norm > clip_grad:\n"
               "            direction = direction * (clip_grad / norm)",
           new="direction = np.clip(direction, -clip_grad, clip_grad)",
           fails=STEP_TESTS, description="clips each entry instead of rescaling the whole direction by its norm"),
    Mutant(name="step_always_rescales", answer=STEP,
           old="if norm > clip_grad:", new="if True:",
           fails=STEP_TESTS, description="rescales to norm clip_grad even when the direction is shorter"),
    Mutant(name="step_returns_score_after", answer=STEP,
           old="score = float(scores[0, class_index])",
           new="score = float(input_gradient(model, image_to_batch(new_image), class_index)[0][0, class_index])",
           fails=STEP_TESTS, description="returns the score after the step instead of before it"),
    # class_visualization
    Mutant(name="loop_forgets_unjitter", answer=LOOP,
           old="image = np.roll(image, (-dy, -dx), axis=(0, 1))", new="pass",
           fails=LOOP_TESTS, description="jitters the image but never rolls it back"),
    Mutant(name="loop_clamps_normalised_image", answer=LOOP,
           old="return np.clip(normalised + mean, 0.0, 1.0) - mean", new="return np.clip(normalised, 0.0, 1.0)",
           fails=LOOP_TESTS, description="clamps the normalised image to [0, 1] instead of the pixel values"),
    Mutant(name="loop_descends", answer=LOOP,
           old="learning_rate=learning_rate,", new="learning_rate=-learning_rate,",
           fails=LOOP_TESTS, description="steps with a negative learning rate: descent instead of ascent"),
    Mutant(name="loop_ignores_learning_rate", answer=LOOP,
           old="learning_rate=learning_rate,", new="learning_rate=0.01,",
           fails=LOOP_TESTS, description="uses a fixed learning rate instead of the argument"),
    Mutant(name="loop_drops_weight_decay", answer=LOOP,
           old="weight_decay=weight_decay, clip_grad=clip_grad", new="clip_grad=clip_grad",
           fails=LOOP_TESTS, description="never passes weight_decay on to ascent_step"),
    Mutant(name="loop_blur_off_by_one", answer=LOOP,
           old="(step + 1) % blur_every == 0", new="step % blur_every == 0",
           fails=LOOP_TESTS, description="blurs after steps 0, k, 2k, ... instead of after k, 2k, ..."),
    Mutant(name="loop_unseeded_noise", answer=LOOP,
           old="image = 0.01 * rng.standard_normal(image_shape)", new="image = 0.01 * np.random.standard_normal(image_shape)",
           fails=LOOP_TESTS, description="draws the starting noise from the global generator: not reproducible"),
    Mutant(name="loop_jitter_range_too_small", answer=LOOP,
           old="rng.integers(-jitter, jitter + 1, size=2)", new="rng.integers(-jitter, jitter, size=2)",
           fails=LOOP_TESTS, description="the upper bound of rng.integers is exclusive: never shifts by +jitter"),
    Mutant(name="loop_returns_normalised_image", answer=LOOP,
           old="        if clamp:\n            image = clamped(image)\n    ### END SOLUTION",
           new="        if clamp:\n            image = clamped(image)\n    image = image - mean\n    ### END SOLUTION",
           fails=LOOP_TESTS, description="returns the normalised image (the mean is never added back)"),
]

HIDDEN = "hidden_unit_gradient_answer"
HIDDEN_TESTS = ("hidden_unit_gradient_tests",)
MULTISCALE = "multiscale_visualization_answer"
MULTISCALE_TESTS = ("multiscale_visualization_tests",)

MUTANTS += [
    # hidden_unit_gradient (extra credit)
    Mutant(name="hidden_skips_relu_backward", answer=HIDDEN,
           old="grad_pre_activation = relu_backward(grad_unit, relu_cache)", new="grad_pre_activation = grad_unit",
           fails=HIDDEN_TESTS, description="for relu1, forgets that no gradient flows through a unit that is off"),
    Mutant(name="hidden_onehot_in_row", answer=HIDDEN,
           old="grad_unit[:, unit] = 1.0", new="grad_unit[unit] = 1.0",
           fails=HIDDEN_TESTS, description="puts the one-hot in row unit instead of column unit"),
    Mutant(name="hidden_relu1_values_before_relu", answer=HIDDEN,
           old="values = activation", new="values = pre_activation",
           fails=HIDDEN_TESTS, description="returns the values before the ReLU for layer relu1"),
    Mutant(name="hidden_gradient_of_weights", answer=HIDDEN,
           old="grad_X, _, _ = fc_backward(grad_pre_activation, fc1_cache)",
           new="_, grad_X, _ = fc_backward(grad_pre_activation, fc1_cache)",
           fails=HIDDEN_TESTS, description="returns the gradient of W1 instead of the gradient of X"),
    # multiscale_visualization (extra credit)
    Mutant(name="multiscale_averages_blocks", answer=MULTISCALE,
           old="grad_small = blocks.sum(axis=(1, 3))", new="grad_small = blocks.mean(axis=(1, 3))",
           fails=MULTISCALE_TESTS, description="averages the gradient over each block instead of adding it up"),
    Mutant(name="multiscale_subsamples_gradient", answer=MULTISCALE,
           old="grad_small = blocks.sum(axis=(1, 3))", new="grad_small = grad_large[::factor, ::factor]",
           fails=MULTISCALE_TESTS, description="takes one pixel of each block's gradient instead of all of them"),
    Mutant(name="multiscale_blurs_image_not_gradient", answer=MULTISCALE,
           old="grad_large = gaussian_blur(grad_large, blur_gradient_sigma)",
           new="small = gaussian_blur(small, blur_gradient_sigma)",
           fails=MULTISCALE_TESTS, description="blurs the image instead of the gradient"),
    Mutant(name="multiscale_descends", answer=MULTISCALE,
           old="small = small + learning_rate * (grad_small - weight_decay * small)",
           new="small = small - learning_rate * (grad_small - weight_decay * small)",
           fails=MULTISCALE_TESTS, description="gradient descent instead of ascent"),
    Mutant(name="multiscale_restarts_at_each_scale", answer=MULTISCALE,
           old="small = upsample(small, scales[index - 1] // factor)",
           new="small = 0.01 * rng.standard_normal((height // factor, width // factor, channels))",
           fails=MULTISCALE_TESTS, description="starts from fresh noise at every scale instead of upsampling"),
]
