namespace RuntimeSentinel.Formats.Native;

/// <summary>Limits that keep one hostile message from costing unbounded CPU or memory.</summary>
internal sealed record EventDecoderOptions
{
    /// <summary>Messages larger than this are rejected before parsing.</summary>
    public int MaxMessageBytes { get; init; } = 1024 * 1024;

    /// <summary>Longest accepted string value (bytes, as encoded). Paths longer than PATH_MAX are not real.</summary>
    public int MaxStringBytes { get; init; } = 4096;

    /// <summary>Command lines may be longer than paths.</summary>
    public int MaxArgsBytes { get; init; } = 16 * 1024;

    public int MaxLabels { get; init; } = 64;

    public static EventDecoderOptions Default { get; } = new();
}
