"""The largest numbers a sweep accepts, and why each; not the checks of what a value means.

Unbounded, each of these would let one line of a config hang the sweep or exhaust the
machine long before it says anything. The README lists them (section Limits).
"""

MAX_EPOCHS = 10_000  # Nielsen trains 30 to 60; 10,000 of [784, 30, 10] take ~40 min on one core
MAX_LAYERS = 20  # sizes, input and output included: the run id (a folder name) stays < 255 bytes
MAX_LAYER_SIZE = 1_000_000  # neurons in a layer; whether the network fits is memory.py's check
MAX_SEED = 2**32 - 1  # the seeds NumPy's legacy seeding takes; the run id spells the seed out
MAX_TRIALS = 10_000  # trials in one sweep, after expansion: entries x grid x seeds
# mini_batch_size and train_size are bounded by the 50,000 training images (values.py)

