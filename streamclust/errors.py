"""The exceptions streamclust raises. Every message says what the user can do about it."""


class StreamclustError(Exception):
    """Root of every error streamclust raises on purpose."""


class ConfigError(StreamclustError):
    """A setting is missing, malformed or out of range."""


class InputError(StreamclustError):
    """An input file or stream cannot be read at all (single bad records are data, not errors)."""


class OutputError(StreamclustError):
    """An output cannot be written any more (standard output closed by the program reading it)."""


class ModelError(StreamclustError):
    """The model cannot be built, trained or used (for example a featurizer's model is missing)."""


class CheckpointError(StreamclustError):
    """A checkpoint cannot be written, or one read back is corrupt or of an incompatible format."""


class CorruptCheckpointError(CheckpointError):
    """A checkpoint read back is damaged or its content is wrong: readers skip it for the next older one."""


class KafkaSetupError(StreamclustError):
    """The Kafka side is not usable as configured (broker unreachable, topics missing, no permission)."""
