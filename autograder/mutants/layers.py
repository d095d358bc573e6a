"""Plausible buggy solutions for notebook 2 (layers); each must lose points on its own question only."""

from course.mutants import Mutant


def _m(name: str, question: str, old: str, new: str, description: str, also_fails: tuple[str, ...] = ()) -> Mutant:
    """A mutant of ``<question>_answer`` that must fail ``<question>_tests`` (and ``also_fails``), nothing else.

    Backward questions run the student's own forward pass to get a cache, so a forward bug
    that crashes or puts nan into the cache also costs the backward question (``also_fails``).
    """
    return Mutant(name=name, answer=f"{question}_answer", old=old, new=new,
                  fails=(f"{question}_tests", *also_fails), description=description)


MUTANTS = [
    # fc_forward
    _m("fc_forward_flattens_two_axes_only", "fc_forward",
       "x.reshape(x.shape[0], -1)", "x.reshape(x.shape[0], np.prod(x.shape[1:3]))",
       "flattens only d1 and d2: right for the public 2-D and 3-D inputs, crashes for 4-D ones "
       "(fc_backward's 4-D cases then use the reference forward's cache: charged once)"),
    _m("fc_forward_flattens_to_last_axis", "fc_forward",
       "x.reshape(x.shape[0], -1)", "x.reshape(-1, x.shape[-1])",
       "keeps the last axis instead of the batch axis: right for 2-D x only, crashes otherwise "
       "(fc_backward's cases on other shapes then use the reference forward's cache: charged once)"),
    _m("fc_forward_no_bias", "fc_forward", "x_flat @ w + b", "x_flat @ w", "forgot the bias"),

    # fc_backward
    _m("fc_backward_missing_transpose", "fc_backward", "grad_out @ w.T", "grad_out @ w",
       "forgot to transpose w in grad_x"),
    _m("fc_backward_missing_transpose_on_square_w", "fc_backward", "grad_out @ w.T",
       "grad_out @ (w if w.shape[0] == w.shape[1] else w.T)",
       "forgets the transpose only when w is square (the shapes then match either way)"),
    _m("fc_backward_grad_x_not_reshaped", "fc_backward", "(grad_out @ w.T).reshape(x.shape)", "grad_out @ w.T",
       "returns grad_x flattened to (N, D) instead of x's shape"),
    _m("fc_backward_grad_w_transposed", "fc_backward", "x_flat.T @ grad_out", "grad_out.T @ x_flat",
       "grad_w computed as (M, D) instead of (D, M)"),
    _m("fc_backward_grad_b_wrong_axis", "fc_backward", "grad_out.sum(axis=0)", "grad_out.sum(axis=1)",
       "sums grad_b over the output axis instead of the batch axis"),
    _m("fc_backward_grad_b_mean", "fc_backward", "grad_out.sum(axis=0)", "grad_out.mean(axis=0)",
       "averages instead of summing over the batch (right only for N = 1)"),
    _m("fc_backward_ignores_need_grad_x", "fc_backward", " if need_grad_x else None", "",
       "always computes grad_x, also when need_grad_x=False asks to skip it"),

    # relu_forward
    _m("relu_forward_in_place", "relu_forward", "out = np.maximum(x, 0)", "x[x < 0] = 0\n    out = x",
       "zeroes the negative entries of the caller's x in place"),
    _m("relu_forward_in_place_out_argument", "relu_forward", "np.maximum(x, 0)", "np.maximum(x, 0, out=x)",
       "writes the result into x through out="),
    _m("relu_forward_minimum", "relu_forward", "np.maximum(x, 0)", "np.minimum(x, 0)",
       "keeps the negative part instead of the positive part"),

    # relu_backward
    _m("relu_backward_one_at_zero", "relu_backward", "(x > 0)", "(x >= 0)",
       "passes the gradient at x == 0 (wrong side of the convention)"),
    _m("relu_backward_writes_grad_out", "relu_backward", "grad_x = grad_out * (x > 0)",
       "grad_out[x <= 0] = 0\n    grad_x = grad_out", "zeroes entries of the caller's grad_out in place"),
    _m("relu_backward_ignores_grad_out", "relu_backward", "grad_out * (x > 0)", "1.0 * (x > 0)",
       "returns the local derivative without multiplying by the upstream gradient"),

    # leaky_relu_forward
    _m("leaky_relu_forward_fixed_slope", "leaky_relu_forward", "negative_slope * x", "0.01 * x",
       "ignores the negative_slope argument"),
    _m("leaky_relu_forward_in_place", "leaky_relu_forward",
       "out = np.where(x >= 0, x, negative_slope * x)", "x[x < 0] *= negative_slope\n    out = x",
       "scales the caller's x in place"),

    # leaky_relu_backward
    _m("leaky_relu_backward_one_at_zero", "leaky_relu_backward", "np.where(x > 0,", "np.where(x >= 0,",
       "slope 1 at x == 0 instead of negative_slope"),
    _m("leaky_relu_backward_fixed_slope", "leaky_relu_backward", "1.0, negative_slope)", "1.0, 0.01)",
       "uses 0.01 instead of the cached slope"),
    _m("leaky_relu_backward_unscaled_negative_side", "leaky_relu_backward",
       "grad_out * np.where(x > 0, 1.0, negative_slope)", "np.where(x > 0, grad_out, negative_slope)",
       "forgets to multiply grad_out on the negative side"),

    # sigmoid_forward
    _m("sigmoid_forward_overflow_warning", "sigmoid_forward",
       "np.where(positive, 1 / (1 + z), z / (1 + z))", "1 / (1 + np.exp(-x))",
       "textbook formula: right values, but exp overflows (RuntimeWarning) for x << 0"),
    _m("sigmoid_forward_overflow_nan", "sigmoid_forward",
       "np.where(positive, 1 / (1 + z), z / (1 + z))", "np.exp(x) / (1 + np.exp(x))",
       "exp(x) / (1 + exp(x)) gives inf / inf = nan for x >> 0 (a nan cache, so sigmoid_backward fails too)",
       also_fails=("sigmoid_backward_tests",)),
    _m("sigmoid_forward_positive_branch_only", "sigmoid_forward",
       "np.where(positive, 1 / (1 + z), z / (1 + z))", "1 / (1 + z)",
       "uses exp(-|x|) everywhere, so sigma(-x) comes out as sigma(x)"),

    # sigmoid_backward
    _m("sigmoid_backward_ignores_grad_out", "sigmoid_backward", "grad_out * out * (1 - out)", "out * (1 - out)",
       "returns the local derivative without the upstream gradient"),
    _m("sigmoid_backward_writes_grad_out", "sigmoid_backward", "grad_x = grad_out * out * (1 - out)",
       "grad_out *= out * (1 - out)\n    grad_x = grad_out", "multiplies the caller's grad_out in place"),
    _m("sigmoid_backward_missing_factor", "sigmoid_backward", "grad_out * out * (1 - out)", "grad_out * (1 - out)",
       "derivative 1 - sigma instead of sigma (1 - sigma)"),

    # tanh_forward
    _m("tanh_forward_exp_formula", "tanh_forward", "np.tanh(x)", "(np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))",
       "textbook exp formula: inf / inf = nan for huge |x| (a nan cache, so tanh_backward fails too)",
       also_fails=("tanh_backward_tests",)),
    _m("tanh_forward_in_place", "tanh_forward", "np.tanh(x)", "np.tanh(x, out=x)", "writes tanh into x in place"),

    # tanh_backward
    _m("tanh_backward_tanh_twice", "tanh_backward", "(1 - out ** 2)", "(1 - np.tanh(out) ** 2)",
       "applies tanh again to the cached output"),
    _m("tanh_backward_ignores_grad_out", "tanh_backward", "grad_out * (1 - out ** 2)", "1 - out ** 2",
       "returns the local derivative without the upstream gradient"),

    # l2_loss
    _m("l2_loss_grad_missing_mean", "l2_loss", "2 * diff / diff.size", "2 * diff",
       "forgot the 1/K of the mean in the gradient"),
    _m("l2_loss_grad_divides_by_rows", "l2_loss", "2 * diff / diff.size", "2 * diff / diff.shape[0]",
       "divides the gradient by the number of rows instead of the number of entries"),
    _m("l2_loss_grad_sign", "l2_loss", "diff = x - y", "diff = y - x", "gradient with the wrong sign"),
    _m("l2_loss_sum", "l2_loss", "np.mean(diff ** 2)", "np.sum(diff ** 2)", "sums instead of averaging the loss"),

    # bce_loss
    _m("bce_loss_grad_sign", "bce_loss", "(y_hat - y) / (y_hat * (1 - y_hat))", "(y - y_hat) / (y_hat * (1 - y_hat))",
       "gradient with the wrong sign"),
    _m("bce_loss_grad_of_logit", "bce_loss", "(y_hat - y) / (y_hat * (1 - y_hat)) / y_hat.size",
       "(y_hat - y) / y_hat.size", "gradient with respect to the logit instead of the probability"),
    _m("bce_loss_grad_divides_by_rows", "bce_loss", "/ y_hat.size", "/ y_hat.shape[0]",
       "averages the gradient over rows instead of all entries"),
    _m("bce_loss_positive_log", "bce_loss", "loss = -np.mean(", "loss = np.mean(", "forgot the minus sign of the loss"),

    # softmax_loss
    _m("softmax_loss_no_max_subtraction", "softmax_loss", "shifted = x - np.max(x, axis=1, keepdims=True)",
       "shifted = x", "no max-subtraction: overflow for scores of 1000"),
    _m("softmax_loss_global_max", "softmax_loss", "np.max(x, axis=1, keepdims=True)", "np.max(x)",
       "subtracts the maximum of the whole array, not of each row"),
    _m("softmax_loss_grad_without_onehot", "softmax_loss", "grad_x[np.arange(N), y] -= 1", "pass",
       "gradient p / N: forgot to subtract the one-hot labels"),
    _m("softmax_loss_grad_missing_mean", "softmax_loss", "grad_x /= N", "grad_x /= 1",
       "forgot the 1/N in the gradient"),
    _m("softmax_loss_onehot_whole_columns", "softmax_loss", "grad_x[np.arange(N), y] -= 1", "grad_x[:, y] -= 1",
       "subtracts 1 in whole columns (right only for N = 1)"),
    _m("softmax_loss_sum", "softmax_loss", "loss = -np.mean(", "loss = -np.sum(", "sums the loss over the batch"),

    # l2_regularization
    _m("l2_regularization_missing_half", "l2_regularization", "0.5 * reg * np.sum(w ** 2)", "reg * np.sum(w ** 2)",
       "uses reg instead of reg / 2 in the loss"),
    _m("l2_regularization_grad_doubled", "l2_regularization", "grad_w = reg * w", "grad_w = 2 * reg * w",
       "forgot that the 1/2 cancels the 2 from the square"),
    _m("l2_regularization_in_place", "l2_regularization", "grad_w = reg * w", "w *= reg\n    grad_w = w",
       "scales the caller's weights in place"),

    # linear_regression_step
    _m("linear_regression_step_swapped_l2_args", "linear_regression_step", "l2_loss(y_pred, y)", "l2_loss(y, y_pred)",
       "passes target and prediction in the wrong order: gradients with the wrong sign"),
    _m("linear_regression_step_residual_as_gradient", "linear_regression_step", "fc_backward(grad_y_pred, cache)",
       "fc_backward(y_pred - y, cache)", "sends the raw residual instead of l2_loss's gradient"),
]
