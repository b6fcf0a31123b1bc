namespace RuntimeSentinel.Core.Events;

/// <summary>What became of one message.</summary>
public enum DecodeStatus : byte
{
    /// <summary>Decoded into a native event.</summary>
    Event,

    /// <summary>Valid input that carries no container behaviour (a sensor's own metrics, an API-audit record); counted, not dead-lettered.</summary>
    Ignored,

    /// <summary>Invalid or unrecognised input; dead-lettered with the reason.</summary>
    Rejected,
}

/// <summary>
/// A wire format that can be turned into native events: our own schema v1, or what a sensor emits (Tetragon,
/// Falco via falcosidekick, Tracee, Hubble). Instances are not thread-safe; use one per consumer thread.
/// </summary>
public interface IEventFormat
{
    /// <summary>Configuration name: <c>native</c>, <c>tetragon</c>, <c>falco</c>, <c>tracee</c>, <c>hubble</c>, <c>auto</c>.</summary>
    string Name { get; }

    /// <param name="note">For <see cref="DecodeStatus.Ignored"/>: why (a short, bounded phrase usable as a metric label).</param>
    DecodeStatus Decode(ReadOnlySpan<byte> utf8, out RuntimeEvent evt, out DecodeError error, out string? note);
}
