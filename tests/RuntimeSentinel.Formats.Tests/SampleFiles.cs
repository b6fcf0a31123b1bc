using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Lab.Recordings;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Formats.Tests;

internal static class SampleFiles
{
    public static string Dir(string tool) => Datasets.Require(Path.Combine("tool-samples", tool), $"tool-samples/{tool}");

    public static List<SourceRecord> Read(string tool, string relative, string format = "auto") =>
        EventSources.Read(Path.Combine(Dir(tool), relative), format).ToList();

    public static RuntimeEvent Event(string tool, string relative, int line = 1, string format = "auto")
    {
        var r = Read(tool, relative, format).Single(x => x.Line == line);
        Assert.True(r.Status == DecodeStatus.Event, $"{relative}:{line}: {r.Status} {r.Error} {r.Note}");
        return r.Event;
    }
}
