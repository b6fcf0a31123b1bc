using System.Text;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tests;

/// <summary>The sensors' older and alternative shapes, written from their documentation and schemas (Samples/README.md).</summary>
internal static class VariantSamples
{
    public static IEnumerable<string> Files => Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Samples"), "*-variants.jsonl").Select(Path.GetFileName)!;

    public static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "Samples", file);

    public static byte[] Line(string file, int line) => Encoding.UTF8.GetBytes(File.ReadLines(PathOf(file)).ElementAt(line - 1));

    public static RuntimeEvent Event(string file, int line, string format)
    {
        var status = EventFormats.Create(format).Decode(Line(file, line), out var e, out var error, out var note);
        Assert.True(status == DecodeStatus.Event, $"{file}:{line}: {status} {error} {note}");
        return e;
    }

    public static DecodeError Rejection(string format, string json)
    {
        var status = EventFormats.Create(format).Decode(Encoding.UTF8.GetBytes(json), out _, out var error, out var note);
        Assert.True(status == DecodeStatus.Rejected, $"{status} {note}");
        return error;
    }
}

public class VariantSampleTests
{
    [Fact]
    public void Decode_EveryVariantSample_IsAnEventWithItsFormatAndWithAuto()
    {
        Assert.NotEmpty(VariantSamples.Files);
        foreach (var file in VariantSamples.Files)
        {
            var format = file[..file.IndexOf('-', StringComparison.Ordinal)];
            var lines = File.ReadAllLines(VariantSamples.PathOf(file));
            Assert.NotEmpty(lines);
            for (var i = 1; i <= lines.Length; i++)
            {
                var named = VariantSamples.Event(file, i, format);
                var auto = VariantSamples.Event(file, i, "auto");
                Assert.Equal(named.Kind, auto.Kind);
            }
        }
    }
}
