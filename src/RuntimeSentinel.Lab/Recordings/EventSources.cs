using System.IO.Compression;
using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats;

namespace RuntimeSentinel.Lab.Recordings;

/// <summary>One input record and what decoding made of it.</summary>
public readonly record struct SourceRecord(string Source, int Line, DecodeStatus Status, RuntimeEvent Event, DecodeError Error, string? Note, byte[]? Raw);

/// <summary>
/// Reads recorded events from files: JSON lines or one (pretty-printed) JSON document per file, in any supported
/// format; LID-DS 2021 recordings (<c>.zip</c> with <c>.sc</c> + <c>.json</c>); the ADFA-LD archive (<c>.zip</c> with
/// <c>ADFA-LD/...</c> traces). Used by <c>sentinel convert</c> and <c>sentinel replay</c>.
/// </summary>
public static class EventSources
{
    public static IEnumerable<SourceRecord> Read(string path, string format)
    {
        if (path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            return ReadArchive(path);
        }

        return ReadJson(path, File.ReadAllBytes(path), EventFormats.Create(format));
    }

    /// <summary>
    /// About how many records the files hold, for progress: their lines (one record per line in JSON-lines exports); null
    /// when one is an archive or unreadable, whose count is not known before reading it.
    /// </summary>
    public static long? CountRecords(IReadOnlyList<string> files)
    {
        long total = 0;
        var buffer = new byte[1 << 16];
        foreach (var f in files)
        {
            if (f.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            try
            {
                using var stream = File.OpenRead(f);
                int n;
                var last = (byte)'\n';
                while ((n = stream.Read(buffer)) > 0)
                {
                    total += buffer.AsSpan(0, n).Count((byte)'\n');
                    last = buffer[n - 1];
                }

                total += last == (byte)'\n' ? 0 : 1;
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }

        return total;
    }

    /// <summary>
    /// Several recordings (each in time order, e.g. one file per sensor) as one stream in event-time order, ties in
    /// file order: how every command that reads a recording (<c>replay</c>, <c>evaluate stream</c>) sees it, so they
    /// see the same stream. Inventory records carry their processes' start times, hours or days back: they are taken
    /// in arrival order (first), never sorted by that time.
    /// </summary>
    public static IEnumerable<SourceRecord> ReadMerged(IReadOnlyList<string> files, string format)
    {
        var readers = files.Select(f => Read(f, format).GetEnumerator()).ToList();
        try
        {
            var queue = new PriorityQueue<int, (DateTimeOffset, int)>();
            for (var i = 0; i < readers.Count; i++)
            {
                if (readers[i].MoveNext())
                {
                    queue.Enqueue(i, (TimeOf(readers[i].Current), i));
                }
            }

            while (queue.TryDequeue(out var i, out _))
            {
                yield return readers[i].Current;
                if (readers[i].MoveNext())
                {
                    queue.Enqueue(i, (TimeOf(readers[i].Current), i));
                }
            }
        }
        finally
        {
            foreach (var r in readers)
            {
                r.Dispose();
            }
        }

        static DateTimeOffset TimeOf(SourceRecord r) => r.Status == DecodeStatus.Event && r.Event.Labels[EventLabels.Inventory] is null ? r.Event.Timestamp : DateTimeOffset.MinValue;
    }

    public static IEnumerable<SourceRecord> ReadJson(string source, byte[] content, IEventFormat format)
    {
        var span = content.AsSpan();
        if (IsSingleDocument(span))
        {
            yield return Decode(source, 1, Trim(span).ToArray(), format);
            yield break;
        }

        var line = 0;
        var start = 0;
        for (var i = 0; i <= content.Length; i++)
        {
            if (i < content.Length && content[i] != (byte)'\n')
            {
                continue;
            }

            line++;
            var bytes = Trim(content.AsSpan(start, i - start));
            start = i + 1;
            if (!bytes.IsEmpty)
            {
                yield return Decode(source, line, bytes.ToArray(), format);
            }
        }
    }

    private static SourceRecord Decode(string source, int line, byte[] bytes, IEventFormat format)
    {
        var status = format.Decode(bytes, out var evt, out var error, out var note);
        return new SourceRecord(source, line, status, evt, error, note, bytes);
    }

    /// <summary>A whole file holding exactly one JSON value (a pretty-printed event) rather than JSON lines.</summary>
    private static bool IsSingleDocument(ReadOnlySpan<byte> content)
    {
        var trimmed = Trim(content);
        if (trimmed.IsEmpty || trimmed[0] != (byte)'{' || trimmed.IndexOf((byte)'\n') < 0)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(trimmed);
            reader.Read();
            reader.Skip();
            return reader.BytesConsumed == trimmed.Length;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        s = s.TrimStart("\uFEFF"u8); // a BOM from editors
        return s.Trim(" \t\r\n"u8);
    }

    private static IEnumerable<SourceRecord> ReadArchive(string path)
    {
        bool lidDs, adfa;
        using (var zip = ZipFile.OpenRead(path))
        {
            lidDs = zip.Entries.Any(e => e.Name.EndsWith(".sc", StringComparison.Ordinal));
            adfa = zip.Entries.Any(e => e.FullName.Contains(AdfaLdTraces.Training, StringComparison.Ordinal) || e.FullName.Contains(AdfaLdTraces.Attack, StringComparison.Ordinal));
        }

        if (lidDs)
        {
            var line = 0;
            foreach (var e in LidDsRecording.Open(path).Events())
            {
                yield return new SourceRecord(path, ++line, DecodeStatus.Event, e, default, null, null);
            }
        }
        else if (adfa)
        {
            var line = 0;
            foreach (var e in AdfaLdTraces.Events(AdfaLdTraces.Read(path), new DateTimeOffset(2013, 1, 1, 0, 0, 0, TimeSpan.Zero)))
            {
                yield return new SourceRecord(path, ++line, DecodeStatus.Event, e, default, null, null);
            }
        }
        else
        {
            yield return new SourceRecord(path, 0, DecodeStatus.Rejected, default, new DecodeError(DecodeErrorCode.UnknownFormat, "", "zip is neither a LID-DS recording (.sc + .json) nor the ADFA-LD archive"), null, null);
        }
    }
}
