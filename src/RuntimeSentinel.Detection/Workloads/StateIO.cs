using System.Text;

namespace RuntimeSentinel.Detection.Workloads;

/// <summary>A checkpoint that cannot be restored (corrupt, crafted, from another format version); the reason says why.</summary>
internal sealed class CheckpointRejectedException(string reason, Exception? inner = null) : Exception(reason, inner);

/// <summary>Writes checkpoint fields: 7-bit lengths and counts, UTF-8 strings, instants as UTC ticks.</summary>
internal sealed class StateWriter(Stream stream) : IDisposable
{
    private readonly BinaryWriter _w = new(stream, Encoding.UTF8, leaveOpen: true);

    public void Count(int n) => _w.Write7BitEncodedInt(n);

    public void Long(long v) => _w.Write7BitEncodedInt64(v);

    public void Int(int v) => _w.Write(v);

    public void Double(double v) => _w.Write(v);

    public void Bool(bool v) => _w.Write(v);

    public void Byte(byte v) => _w.Write(v);

    public void String(string s) => _w.Write(s);

    public void NullableString(string? s)
    {
        _w.Write(s is not null);
        if (s is not null)
        {
            _w.Write(s);
        }
    }

    public void Time(DateTimeOffset t) => _w.Write(t.UtcTicks);

    public void NullableTime(DateTimeOffset? t)
    {
        _w.Write(t.HasValue);
        if (t is { } v)
        {
            _w.Write(v.UtcTicks);
        }
    }

    public void Bytes(ReadOnlySpan<byte> b)
    {
        Count(b.Length);
        _w.Write(b);
    }

    public void Dispose() => _w.Dispose();
}

/// <summary>
/// Reads what <see cref="StateWriter"/> wrote, trusting nothing: every count is checked against a bound and every
/// value against its range, so a crafted checkpoint is refused with a reason instead of allocating or looping.
/// </summary>
internal sealed class StateReader(Stream stream) : IDisposable
{
    /// <summary>The checkpoint format being read: parts added in later formats are read only when present.</summary>
    public int Format { get; init; } = WorkloadCheckpoint.FormatVersion;

    private readonly BinaryReader _r = new(stream, Encoding.UTF8, leaveOpen: true);

    public int Count(int max, string what)
    {
        var n = _r.Read7BitEncodedInt();
        if (n < 0 || n > max)
        {
            throw new CheckpointRejectedException($"{what}: {n} entries (at most {max})");
        }

        return n;
    }

    public long Long() => _r.Read7BitEncodedInt64();

    public long NonNegative(string what)
    {
        var v = _r.Read7BitEncodedInt64();
        return v >= 0 ? v : throw new CheckpointRejectedException($"{what} is negative ({v})");
    }

    public int Int() => _r.ReadInt32();

    public double Double(string what)
    {
        var v = _r.ReadDouble();
        return double.IsFinite(v) ? v : throw new CheckpointRejectedException($"{what} is not a finite number");
    }

    public bool Bool() => _r.ReadBoolean();

    public byte Byte() => _r.ReadByte();

    public string String(string what, int maxLength = 64 * 1024)
    {
        var s = _r.ReadString();
        return s.Length <= maxLength ? s : throw new CheckpointRejectedException($"{what}: a string of {s.Length} characters (at most {maxLength})");
    }

    public string? NullableString(string what, int maxLength = 64 * 1024) => _r.ReadBoolean() ? String(what, maxLength) : null;

    public DateTimeOffset Time(string what)
    {
        var ticks = _r.ReadInt64();
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            throw new CheckpointRejectedException($"{what}: {ticks} is not an instant");
        }

        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    public DateTimeOffset? NullableTime(string what) => _r.ReadBoolean() ? Time(what) : null;

    public byte[] Bytes(int max, string what)
    {
        var n = Count(max, what);
        var b = _r.ReadBytes(n);
        return b.Length == n ? b : throw new CheckpointRejectedException($"{what}: truncated");
    }

    public void Dispose() => _r.Dispose();
}
