"""The Keras names fastnn does not have, and why: plain data read by
`fastnn._absent` when a lookup first fails (never by ``import fastnn``).

For each module (the part after "fastnn."; "" for fastnn itself), groups of
(Keras's names, space-separated; what they are in Keras; why fastnn has
none, or what to use instead). "{name}" in a reason stands for the name.
"""

# -- reasons shared by several modules ---------------------------------------------------

_NOT_DENSE = (
    "fastnn builds dense networks (multilayer perceptrons); it has no convolution, "
    "pooling, recurrent, attention, image or signal-processing layers or ops"
)
_FLOAT32 = "fastnn computes in float32 only (fastnn.mixed_precision), so there is no "
_LOSSES = (
    "fastnn trains with its C++ losses and their exact gradients, and has none for it; "
    "fastnn.losses lists the ones it has"
)
_OPTIMIZERS = (
    "fastnn's optimizers are fused C++ steps over the model's one parameter buffer: SGD, "
    "Adam, AdamW, RMSprop, Adagrad, Nadam, Adamax, Lion, Adadelta, Ftrl, Lamb, "
    "ScheduleFreeAdamW"
)
_LOSS_SCALE = (
    _FLOAT32 + "float16 gradient to keep from underflowing: use the wrapped optimizer itself"
)
_FILES = (
    "not implemented: fastnn's fit, evaluate and predict take NumPy arrays (or a pandas "
    "data frame), Python generators and PyDataset objects; read the files into arrays, "
    "or write a PyDataset that reads them batch by batch"
)
_IMAGE_FILES = (
    "not implemented: fastnn trains on arrays; PIL reads and writes images "
    "(numpy.asarray(PIL.Image.open(path)), PIL.Image.fromarray(array))"
)
_DTYPES = (
    "fastnn computes in float32 and takes and returns NumPy arrays: numpy.result_type "
    "answers it (with NumPy's rules: an int64 and a float32 give float64, where Keras "
    "gives float32); fastnn.backend.standardize_dtype names a dtype as Keras does"
)
_ACTIVATION = (
    "fastnn.activations holds the functions its C++ engine computes as a layer's "
    "activation, and this is not one of them"
)
_OPS_NUMPY = (
    "fastnn.ops mirrors the Keras ops that scripts apply to inputs and model outputs, "
    "and not this one; NumPy's numpy.{name} computes it on arrays"
)

ABSENT = {
    "": (
        (
            "applications visualization",
            "pretrained image models and image, box and mask plots",
            _NOT_DENSE,
        ),
        (
            "distribution",
            "data and model parallelism over several devices",
            "fastnn trains on one CPU, over its cores (fastnn.set_num_threads)",
        ),
        (
            "Quantizer quantizers",
            "weight quantization (int8, int4, float8)",
            _FLOAT32 + "quantized computation",
        ),
        (
            "FloatDTypePolicy dtype_policies",
            "Keras's dtype policies (FloatDTypePolicy is DTypePolicy's former name)",
            "fastnn.DTypePolicy and fastnn.mixed_precision hold the float32 policy, the only "
            "one fastnn runs",
        ),
        (
            "Variable",
            "a standalone backend variable (keras.Variable(initializer, shape, ...))",
            "fastnn's weights are views into a model's parameter buffer "
            "(fastnn.layers.Variable, made by the layers), never standalone: use a NumPy array",
        ),
        (
            "KerasTensor",
            "the symbolic tensor that Input() and layer calls on it return",
            "fastnn's symbolic values are its Input layer and fastnn.functional.SymbolicTensor; "
            "fastnn.backend.is_keras_tensor(x) tells them apart from arrays",
        ),
        (
            "InputSpec",
            "a description of the inputs a layer accepts",
            "not implemented: fastnn's layers check their input shapes themselves",
        ),
        (
            "Function Operation RematScope StatelessScope SymbolicScope device name_scope remat",
            "Keras's machinery of traced graphs, variable scopes, devices and rematerialization",
            "fastnn runs its C++ engine on NumPy arrays in one process and has none of it",
        ),
        (
            "distillation",
            "knowledge distillation of a teacher model into a student",
            "not implemented: train the student on the teacher's predict output",
        ),
        (
            "export",
            "export of a model for serving (ExportArchive, SavedModel)",
            "not implemented as a module: model.export(path, format='onnx') writes the model's "
            "inference pass as an ONNX file (ONNX Runtime runs it); model.save writes .keras",
        ),
        (
            "legacy",
            "Keras 2's legacy saving (keras.legacy.saving)",
            "fastnn's load_model and save read and write .keras files and legacy .h5 models "
            "(Keras 3's and tf.keras 2's), and .weights.h5 files (fastnn.saving)",
        ),
        (
            "tree",
            "utilities for nested structures (flatten, map_structure ...)",
            "fastnn does not mirror them: its models take one input array; keras.tree itself "
            "or the optree package works on plain Python structures",
        ),
        (
            "src",
            "Keras's implementation package, private to Keras",
            "fastnn mirrors Keras's public modules only",
        ),
    ),
    "activations": (
        (
            "glu",
            "an activation function that halves the width: a * sigmoid(b) of the two halves "
            "of the last axis",
            _ACTIVATION + ": a layer's activation keeps the layer's width; on arrays, "
            "fastnn.ops.glu computes it",
        ),
        (
            "threshold",
            "an activation function with two required parameters (threshold, default_value)",
            "having no defaults, it cannot be a layer's activation by name, and "
            + _ACTIVATION
            + "; on arrays, numpy.where(x > threshold, x, default_value) computes it",
        ),
        (
            "sparsemax",
            "an activation function (a projection of each row onto the probability simplex)",
            _ACTIVATION + ": Keras 3.15's computes its threshold from the sum of the kept "
            "cumulative sums instead of the last one, so its rows do not sum to 1 "
            "(sparsemax([1, 0.5, 0]) is [0.25, 0, 0], not [0.75, 0.25, 0]); fastnn waits "
            "for a Keras whose sparsemax it can match",
        ),
    ),
    "backend": (
        (
            "result_type",
            "Keras's type promotion of backend tensors (JAX's lattice)",
            _DTYPES,
        ),
    ),
    "callbacks": (
        (
            "OrbaxCheckpoint",
            "a checkpoint of the model's state written with JAX's Orbax library",
            "fastnn does not use JAX: ModelCheckpoint and BackupAndRestore save its models",
        ),
        (
            "RemoteMonitor",
            "a callback posting each epoch's logs to a server",
            "not implemented: LambdaCallback(on_epoch_end=lambda epoch, logs: ...) can send "
            "the logs",
        ),
    ),
    "config": (
        (
            "disable_flash_attention enable_flash_attention is_flash_attention_enabled",
            "a switch of flash attention in Keras's attention layers",
            _NOT_DENSE,
        ),
        (
            "is_nnx_enabled",
            "whether the JAX backend uses Flax NNX",
            "fastnn does not use JAX",
        ),
        (
            "set_backend",
            "a reload of Keras with another backend",
            "fastnn is its own backend (config.backend() is 'fastnn'), with nothing to switch",
        ),
    ),
    "initializers": (
        (
            "Identity IdentityInitializer identity",
            "the initializer gain * eye(rows, cols) of a 2-D weight",
            "not implemented: Constant(gain * numpy.eye(rows, cols)) gives the same weight",
        ),
        (
            "STFT STFTInitializer stft",
            "an initializer of convolution kernels for a short-time Fourier transform",
            _NOT_DENSE,
        ),
    ),
    "losses": (
        (
            "Dice Tversky dice tversky",
            "an overlap loss of segmentation masks",
            _LOSSES,
        ),
        (
            "Circle circle",
            "a metric-learning loss of L2-normalized embeddings and integer labels",
            _LOSSES,
        ),
        (
            "CategoricalGeneralizedCrossEntropy categorical_generalized_cross_entropy",
            "a cross-entropy robust to noisy labels (Zhang & Sabuncu, 2018)",
            _LOSSES,
        ),
        (
            "CTC ctc",
            "the connectionist temporal classification loss of sequence outputs",
            _NOT_DENSE,
        ),
    ),
    "metrics": (
        (
            "BinaryIoU IoU MeanIoU OneHotIoU OneHotMeanIoU",
            "an intersection-over-union metric of predicted classes",
            "not implemented; compute it from predict's output (the confusion matrix is "
            "numpy.bincount(true * classes + predicted, minlength=classes**2).reshape(classes, "
            "classes)), or pass a function fn(y_true, y_pred) of NumPy arrays as a metric: "
            "compile(metrics=[fn])",
        ),
    ),
    "mixed_precision": (
        (
            "LossScaleOptimizer",
            "an optimizer wrapper that scales the loss for float16 training",
            _LOSS_SCALE,
        ),
    ),
    "ops": (
        (
            (
                "adaptive_average_pool adaptive_max_pool average_pool bartlett blackman conv "
                "conv_transpose ctc_decode ctc_loss depth_to_space depthwise_conv "
                "dot_product_attention extract_sequences fft fft2 fold hamming hanning ifft2 "
                "image irfft istft kaiser max_pool psnr rfft separable_conv space_to_depth stft "
                "unfold"
            ),
            "a convolution, pooling, attention, image, signal-processing or CTC op",
            _NOT_DENSE,
        ),
        (
            (
                "associative_scan cond custom_gradient fori_loop jvp map scan switch vectorize "
                "vectorized_map while_loop"
            ),
            "control flow or differentiation of traced backend tensors",
            "fastnn.ops are NumPy functions run eagerly, and fastnn has no automatic "
            "differentiation: write the Python loop (or numpy.vectorize)",
        ),
        (
            (
                "cholesky cholesky_inverse det eig eigh inv linalg logdet lstsq lu_factor "
                "matrix_rank pinv qr slogdet solve solve_triangular svd"
            ),
            "linear algebra",
            "fastnn.ops does not mirror keras.ops.linalg: numpy.linalg computes it on arrays",
        ),
        (
            "batch_normalization layer_normalization rms_normalization sparsemax threshold",
            "a neural-network function",
            "not implemented in fastnn.ops (its activation functions are fastnn.activations' "
            "ones and glu); inside a model, the layers BatchNormalization and "
            "LayerNormalization normalize",
        ),
        (
            "nn numpy",
            "a submodule grouping Keras's ops",
            "fastnn.ops holds the ops it mirrors directly (fastnn.ops.softmax, "
            "fastnn.ops.mean ...)",
        ),
        (
            (
                "array cdist divide_no_nan dtype erfc erfinv get_item is_tensor polar rearrange "
                "saturate_cast scatter scatter_update segment_max segment_min segment_prod "
                "segment_sum slice slice_update unstack view view_as_complex view_as_real"
            ),
            "an op on Keras's backend tensors",
            "fastnn.ops does not mirror it; on NumPy arrays use indexing, numpy.asarray, "
            "x.astype, x.view, numpy.add.at, scipy.special (erfc, erfinv) or "
            "scipy.spatial.distance.cdist",
        ),
        (
            (
                "angle append argpartition array_split bincount bitwise_and bitwise_invert "
                "bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift bitwise_xor "
                "broadcast_to cbrt conj conjugate corrcoef correlate cross deg2rad diagflat diff "
                "digitize dsplit dstack empty_like fabs fliplr flipud fmax fmin gcd geomspace "
                "heaviside histogram hsplit i0 imag inner isin isneginf isposinf isreal kron lcm "
                "ldexp left_shift logaddexp2 logspace meshgrid nanargmax nanargmin nancumprod "
                "nancumsum nanmax nanmean nanmedian nanmin nanpercentile nanprod nanquantile "
                "nanstd nansum nanvar nextafter rad2deg real right_shift rot90 select sinc "
                "trapezoid unravel_index vander vdot vsplit"
            ),
            "a NumPy-like op",
            _OPS_NUMPY,
        ),
    ),
    "optimizers": (
        (
            "Adafactor Muon",
            "an optimizer",
            "not implemented: " + _OPTIMIZERS,
        ),
        (
            "MultiOptimizer OptimizerMap",
            "a wrapper giving groups of variables to different optimizers",
            "not implemented: " + _OPTIMIZERS + "; one optimizer steps them all",
        ),
        (
            "LossScaleOptimizer",
            "an optimizer wrapper that scales the loss for float16 training",
            _LOSS_SCALE,
        ),
        (
            "legacy",
            "tf.keras's legacy optimizers (keras.optimizers.legacy.Adam ...)",
            "fastnn.optimizers.Adam and the others take the same arguments",
        ),
    ),
    "preprocessing": (
        (
            "image",
            "Keras's image utilities (load_img, img_to_array, smart_resize)",
            _IMAGE_FILES,
        ),
        (
            (
                "image_dataset_from_directory text_dataset_from_directory "
                "timeseries_dataset_from_array"
            ),
            "a dataset made from files in a directory, or from windows of a series",
            _FILES,
        ),
    ),
    "regularizers": (
        (
            "OrthogonalRegularizer orthogonal_regularizer",
            "a penalty on the non-orthogonality of a weight's rows or columns",
            "fastnn's C++ engine computes the L1 and L2 penalties only (L1, L2, L1L2)",
        ),
    ),
    "saving": (
        (
            "KerasFileEditor",
            "an editor of the weights in a .keras or .weights.h5 file",
            "not implemented: load the model (fastnn.saving.load_model), change its weights "
            "with set_weights, save it again",
        ),
    ),
    "utils": (
        (
            "Config",
            "a dict-like container with attribute access",
            "not implemented: use a dict or types.SimpleNamespace",
        ),
        (
            "FeatureSpace",
            "a preprocessing of structured (tabular) columns into features",
            "not implemented: encode the columns with pandas.get_dummies; fit takes the "
            "data frame as it is",
        ),
        (
            "array_to_img img_to_array load_img save_img",
            "a conversion between PIL images and arrays",
            _IMAGE_FILES,
        ),
        (
            (
                "audio_dataset_from_directory image_dataset_from_directory "
                "text_dataset_from_directory timeseries_dataset_from_array"
            ),
            "a dataset made from files in a directory, or from windows of a series",
            _FILES,
        ),
        (
            "split_dataset",
            "a split of a dataset into two tf.data datasets",
            "not implemented (fastnn does not use TensorFlow): fit's validation_split, or "
            "sklearn.model_selection.train_test_split, splits arrays",
        ),
        (
            "bounding_boxes",
            "bounding-box conversions for object detection",
            _NOT_DENSE,
        ),
        (
            "get_source_inputs",
            "the Input tensors a symbolic tensor is computed from",
            "not implemented: a functional model's inputs are model.inputs",
        ),
        (
            "legacy",
            "tf.keras's serialize_keras_object and deserialize_keras_object",
            "fastnn.utils.serialize_keras_object and deserialize_keras_object (Keras 3's "
            "format) serialize fastnn's objects",
        ),
    ),
}

# -- tf.keras 2 names Keras 3 removed as well, which copied scripts still call ----------

_K_OPS = "fastnn.ops.{name} computes it on arrays (Keras 3 moved it to keras.ops.{name})"


def _keras2_ops(names: str, target: str) -> tuple:
    return (names, "a tensor op", target)


KERAS2 = {
    "backend": (
        _keras2_ops(
            "abs all any argmax argmin binary_crossentropy cast categorical_crossentropy clip "
            "concatenate cos cumprod cumsum dot elu equal exp expand_dims greater "
            "greater_equal hard_sigmoid less less_equal log logsumexp max maximum mean min "
            "minimum not_equal one_hot ones ones_like prod relu repeat reshape round sigmoid "
            "sign sin softmax softplus softsign sparse_categorical_crossentropy sqrt square "
            "squeeze stack std stop_gradient sum tanh tile transpose var zeros zeros_like",
            _K_OPS,
        ),
        _keras2_ops("pow", "fastnn.ops.power computes it on arrays"),
        _keras2_ops("switch", "fastnn.ops.where(condition, x, y) computes it on arrays"),
        _keras2_ops("gather", "fastnn.ops.take(x, indices, axis=0) computes it on arrays"),
        _keras2_ops("permute_dimensions", "fastnn.ops.transpose(x, axes) computes it on arrays"),
        _keras2_ops(
            "flatten batch_flatten",
            "fastnn.ops.reshape(x, (-1,)) or (x.shape[0], -1) computes it on arrays",
        ),
        _keras2_ops("l2_normalize", "fastnn.ops.normalize(x, axis=-1) computes it on arrays"),
        _keras2_ops(
            "constant variable placeholder",
            "fastnn.ops.convert_to_tensor (or numpy.asarray) makes the array",
        ),
        _keras2_ops("int_shape shape ndim", "x.shape and x.ndim answer it for arrays"),
        _keras2_ops("eval batch_get_value", "numpy.asarray(x) (or fastnn.backend.get_value)"),
        (
            "function",
            "a symbolic function from inputs to layer outputs",
            "a functional model does it: fastnn.Model(model.inputs, layer.output).predict(x)",
        ),
        (
            "learning_phase set_learning_phase",
            "the global training flag",
            "fit trains (Dropout and noise active), evaluate and predict infer; there is no "
            "global flag",
        ),
        (
            "get_session set_session gradients",
            "TensorFlow 1 graph-mode machinery",
            "fastnn runs eagerly in C++; fit computes the gradients itself",
        ),
    ),
}
