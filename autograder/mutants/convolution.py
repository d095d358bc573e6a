"""Plausible buggy solutions of notebook 5 (convolution, max pooling).

Each must lose points on its own question only.
"""

from course.mutants import Mutant

MASK = "derivative_mask_answer"
MASK_TESTS = ("derivative_mask_tests",)
CONV_FWD = "conv_forward_answer"
CONV_FWD_TESTS = ("conv_forward_tests",)
CONV_BWD = "conv_backward_answer"
CONV_BWD_TESTS = ("conv_backward_tests",)
EDGE = "vertical_edge_mask_answer"
EDGE_TESTS = ("vertical_edge_mask_tests",)
POOL_FWD = "max_pool_forward_answer"
POOL_FWD_TESTS = ("max_pool_forward_tests",)
POOL_BWD = "max_pool_backward_answer"
POOL_BWD_TESTS = ("max_pool_backward_tests",)

MUTANTS = [
    # derivative_mask
    Mutant(name="derivative_mask_not_flipped", answer=MASK,
           old="np.array([0.5, 0.0, -0.5])", new="np.array([-0.5, 0.0, 0.5])", fails=MASK_TESTS,
           description="writes the taps as weights of I[t-1], I[t], I[t+1], forgetting that convolution flips"),
    Mutant(name="derivative_mask_missing_half", answer=MASK,
           old="np.array([0.5, 0.0, -0.5])", new="np.array([1.0, 0.0, -1.0])", fails=MASK_TESTS,
           description="forgets to divide the difference by 2"),
    Mutant(name="derivative_mask_one_sided", answer=MASK,
           old="np.array([0.5, 0.0, -0.5])", new="np.array([1.0, -1.0, 0.0])", fails=MASK_TESTS,
           description="forward difference I[t+1] - I[t] instead of the central difference"),

    # conv_forward
    Mutant(name="conv_forward_flipped_kernel", answer=CONV_FWD,
           old="np.tensordot(window, w, axes", new="np.tensordot(window, w[:, :, ::-1, ::-1], axes",
           fails=CONV_FWD_TESTS,
           description="flips the mask (true convolution) instead of the handout's correlation"),
    Mutant(name="conv_forward_output_size_off_by_one", answer=CONV_FWD,
           old="H_out = 1 + (H + 2 * pad - HH) // stride", new="H_out = (H + 2 * pad - HH) // stride",
           fails=CONV_FWD_TESTS, description="forgets the 1 + in the output height"),
    Mutant(name="conv_forward_output_size_rounds_up", answer=CONV_FWD,
           old="W_out = 1 + (W + 2 * pad - WW) // stride", new="W_out = 1 + -(-(W + 2 * pad - WW) // stride)",
           fails=CONV_FWD_TESTS, description="rounds the output width up, so the last window sticks out"),
    Mutant(name="conv_forward_ignores_stride", answer=CONV_FWD,
           old="top = i * stride", new="top = i", fails=CONV_FWD_TESTS,
           description="moves the window one row at a time whatever the stride"),
    Mutant(name="conv_forward_bias_wrong_axis", answer=CONV_FWD,
           old="out += b[None, :, None, None]", new="out += b", fails=CONV_FWD_TESTS,
           description="adds the bias along the last (width) axis instead of the mask axis"),
    Mutant(name="conv_forward_no_bias", answer=CONV_FWD,
           old="out += b[None, :, None, None]", new="pass", fails=CONV_FWD_TESTS,
           description="forgets the bias"),
    Mutant(name="conv_forward_pads_rows_only", answer=CONV_FWD,
           old="x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))",
           new="x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (0, 0)))", fails=CONV_FWD_TESTS,
           description="pads the rows but not the columns"),
    Mutant(name="conv_forward_width_from_height", answer=CONV_FWD,
           old="W_out = 1 + (W + 2 * pad - WW) // stride", new="W_out = 1 + (H + 2 * pad - WW) // stride",
           fails=CONV_FWD_TESTS,
           description="uses the image height for the output width (right only for square images)"),

    # conv_backward
    Mutant(name="conv_backward_ignores_stride", answer=CONV_BWD,
           old="top = i * stride", new="top = i", fails=CONV_BWD_TESTS,
           description="ignores the stride in the backward pass (row windows start at i)"),
    Mutant(name="conv_backward_keeps_padding", answer=CONV_BWD,
           old="grad_x = grad_x_pad[:, :, pad:pad + H, pad:pad + W]", new="grad_x = grad_x_pad", fails=CONV_BWD_TESTS,
           description="returns the gradient of the padded input (forgets to remove the padding)"),
    Mutant(name="conv_backward_unpads_with_negative_index", answer=CONV_BWD,
           old="grad_x = grad_x_pad[:, :, pad:pad + H, pad:pad + W]",
           new="grad_x = grad_x_pad[:, :, pad:-pad, pad:-pad]",
           fails=CONV_BWD_TESTS, description="removes the padding with pad:-pad, which is empty when pad = 0"),
    Mutant(name="conv_backward_grad_b_wrong_axes", answer=CONV_BWD,
           old="grad_b = np.sum(grad_out, axis=(0, 2, 3))", new="grad_b = np.sum(grad_out, axis=(1, 2, 3))",
           fails=CONV_BWD_TESTS, description="sums grad_b over the masks instead of the batch"),
    Mutant(name="conv_backward_grad_b_batch_only", answer=CONV_BWD,
           old="grad_b = np.sum(grad_out, axis=(0, 2, 3))", new="grad_b = np.sum(grad_out, axis=(2, 3))[0]",
           fails=CONV_BWD_TESTS, description="sums grad_b over the positions of the first image only"),
    Mutant(name="conv_backward_flipped_kernel", answer=CONV_BWD,
           old="np.tensordot(g, w, axes", new="np.tensordot(g, w[:, :, ::-1, ::-1], axes", fails=CONV_BWD_TESTS,
           description="flips the mask when sending the gradient back to the input"),
    Mutant(name="conv_backward_grad_x_assigned", answer=CONV_BWD,
           old="grad_x_pad[:, :, top:top + HH, left:left + WW] += ",
           new="grad_x_pad[:, :, top:top + HH, left:left + WW] = ", fails=CONV_BWD_TESTS,
           description="assigns instead of adding, so overlapping windows overwrite each other"),
    Mutant(name="conv_backward_grad_w_assigned", answer=CONV_BWD,
           old="grad_w += np.tensordot", new="grad_w = np.tensordot", fails=CONV_BWD_TESTS,
           description="keeps only the last position's contribution to grad_w"),
    Mutant(name="conv_backward_grad_w_first_image", answer=CONV_BWD,
           old="np.tensordot(g, window, axes=([0], [0]))", new="np.tensordot(g[0], window[0], axes=0)",
           fails=CONV_BWD_TESTS, description="forgets to sum grad_w over the batch (uses image 0 only)"),

    # vertical_edge_mask
    Mutant(name="edge_mask_horizontal", answer=EDGE,
           old="np.stack([sobel_x] * 3) / 3", new="np.stack([sobel_x.T] * 3) / 3", fails=EDGE_TESTS,
           description="detects horizontal edges (rows and columns swapped)"),
    Mutant(name="edge_mask_wrong_sign", answer=EDGE,
           old="np.stack([sobel_x] * 3) / 3", new="np.stack([sobel_x] * 3) / -3", fails=EDGE_TESTS,
           description="light-to-dark positive, against the stated sign convention"),
    Mutant(name="edge_mask_not_zero_sum", answer=EDGE,
           old="[-2.0, 0.0, 2.0]", new="[0.0, 0.0, 2.0]", fails=EDGE_TESTS,
           description="weights do not add up to zero, so flat regions respond"),
    Mutant(name="edge_mask_single_channel", answer=EDGE,
           old="np.stack([sobel_x] * 3) / 3", new="sobel_x", fails=EDGE_TESTS,
           description="returns a (3, 3) gray mask instead of one mask per colour channel"),
    Mutant(name="edge_mask_channels_cancel", answer=EDGE,
           old="np.stack([sobel_x] * 3) / 3", new="np.stack([sobel_x, sobel_x, -2 * sobel_x]) / 3", fails=EDGE_TESTS,
           description="channel weights cancel on gray images, so a black|white edge gives no response"),

    # max_pool_forward
    Mutant(name="max_pool_forward_ignores_stride", answer=POOL_FWD,
           old="top = i * stride", new="top = i", fails=POOL_FWD_TESTS,
           description="moves the window one row at a time whatever the stride"),
    Mutant(name="max_pool_forward_output_size_off_by_one", answer=POOL_FWD,
           old="H_out = 1 + (H - ph) // stride", new="H_out = (H - ph) // stride", fails=POOL_FWD_TESTS,
           description="forgets the 1 + in the output height"),
    Mutant(name="max_pool_forward_average", answer=POOL_FWD,
           old="window.max(axis=(2, 3))", new="window.mean(axis=(2, 3))", fails=POOL_FWD_TESTS,
           description="average pooling instead of max pooling"),
    Mutant(name="max_pool_forward_swapped_window", answer=POOL_FWD,
           old="x[:, :, top:top + ph, left:left + pw]", new="x[:, :, top:top + pw, left:left + ph]",
           fails=POOL_FWD_TESTS, description="swaps the window's height and width (right only for square windows)"),
    Mutant(name="max_pool_forward_max_from_zero", answer=POOL_FWD,
           old="window.max(axis=(2, 3))", new="np.maximum(window.max(axis=(2, 3)), 0)", fails=POOL_FWD_TESTS,
           description="starts the running maximum at 0, wrong for all-negative windows"),
    Mutant(name="max_pool_forward_sorts_input_in_place", answer=POOL_FWD,
           old="out[:, :, i, j] = window.max(axis=(2, 3))",
           new=("window.sort(axis=3)\n"
                "            window.sort(axis=2)\n"
                "            out[:, :, i, j] = window[:, :, -1, -1]"),
           fails=POOL_FWD_TESTS,
           description="finds the maximum by sorting the window in place, which scrambles the caller's x"),

    # max_pool_backward
    Mutant(name="max_pool_backward_to_all_elements", answer=POOL_BWD,
           old="grad_x[n, c, top + row, left + col] += grad_out[:, :, i, j]",
           new="grad_x[:, :, top:top + ph, left:left + pw] += grad_out[:, :, i, j][:, :, None, None]",
           fails=POOL_BWD_TESTS, description="sends the gradient to every element of the window"),
    Mutant(name="max_pool_backward_averages", answer=POOL_BWD,
           old="grad_x[n, c, top + row, left + col] += grad_out[:, :, i, j]",
           new="grad_x[:, :, top:top + ph, left:left + pw] += grad_out[:, :, i, j][:, :, None, None] / (ph * pw)",
           fails=POOL_BWD_TESTS, description="spreads the gradient evenly over the window (average-pool backward)"),
    Mutant(name="max_pool_backward_overlap_not_accumulated", answer=POOL_BWD,
           old="grad_x[n, c, top + row, left + col] += grad_out[:, :, i, j]",
           new="grad_x[n, c, top + row, left + col] = grad_out[:, :, i, j]",
           fails=POOL_BWD_TESTS, description="assigns instead of adding, so overlapping windows overwrite each other"),
    Mutant(name="max_pool_backward_all_ties", answer=POOL_BWD,
           old="grad_x[n, c, top + row, left + col] += grad_out[:, :, i, j]",
           new=("block = x[:, :, top:top + ph, left:left + pw]\n"
                "            grad_x[:, :, top:top + ph, left:left + pw] += "
                "(block == block.max(axis=(2, 3), keepdims=True)) * grad_out[:, :, i, j][:, :, None, None]"),
           fails=POOL_BWD_TESTS, description="gives the full gradient to every tied maximum (a mask of all maxima)"),
    Mutant(name="max_pool_backward_last_tie", answer=POOL_BWD,
           old="first_max = np.argmax(window, axis=2)",
           new="first_max = ph * pw - 1 - np.argmax(window[:, :, ::-1], axis=2)",
           fails=POOL_BWD_TESTS, description="picks the last maximum of a tie instead of the first"),
    Mutant(name="max_pool_backward_ignores_stride", answer=POOL_BWD,
           old="top = i * stride", new="top = i", fails=POOL_BWD_TESTS,
           description="ignores the stride in the backward pass"),
    Mutant(name="max_pool_backward_divmod_by_height", answer=POOL_BWD,
           old="np.divmod(first_max, pw)", new="np.divmod(first_max, ph)", fails=POOL_BWD_TESTS,
           description="unravels the flat argmax with the window height (right only for square windows)"),
]
