using System.Buffers.Binary;

namespace RuntimeSentinel.Core.Workloads;

/// <summary>
/// The outside of a workload checkpoint, all a store needs to know of it: a 4-byte magic, the format version and the
/// time written (UTC ticks), then a body only detection reads. Stores keep the newest record per workload and refuse
/// what is not a checkpoint without decompressing anything.
/// </summary>
public static class CheckpointEnvelope
{
    /// <summary>
    /// Format written; 2 added failed sessions per peer and the activity profile, 3 connections per peer and direction,
    /// 4 the subtrees busy by the raw names of files created under them.
    /// </summary>
    public const int FormatVersion = 4;

    /// <summary>Oldest format this build still reads.</summary>
    public const int OldestReadable = 1;

    public const int HeaderBytes = 13;

    private const uint Magic = 0x43575352; // "RSWC" little-endian

    public static void WriteHeader(Span<byte> header, DateTimeOffset at)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        header[4] = FormatVersion;
        BinaryPrimitives.WriteInt64LittleEndian(header[5..], at.UtcTicks);
    }

    /// <summary>True when the data starts with the magic (whatever its format).</summary>
    public static bool HasMagic(ReadOnlySpan<byte> data) => data.Length >= HeaderBytes && BinaryPrimitives.ReadUInt32LittleEndian(data) == Magic;

    /// <summary>When the checkpoint was written, from its header; null when it is not a checkpoint of a readable format.</summary>
    public static DateTimeOffset? WrittenAt(ReadOnlySpan<byte> data)
    {
        if (!HasMagic(data) || data[4] is < OldestReadable or > FormatVersion)
        {
            return null;
        }

        var ticks = BinaryPrimitives.ReadInt64LittleEndian(data[5..]);
        return ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
    }
}
