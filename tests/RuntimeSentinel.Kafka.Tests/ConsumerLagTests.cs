using Microsoft.Extensions.Logging.Abstractions;
using static RuntimeSentinel.Kafka.Tests.Ingest;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>The lag gauge: what detection has still to do, from librdkafka's statistics and this member's trackers.</summary>
public sealed class ConsumerLagTests
{
    private readonly KafkaMetrics _metrics = Metrics();
    private readonly PartitionAssignments _assignments;
    private readonly ConsumerLag _lag;

    public ConsumerLagTests()
    {
        _assignments = new PartitionAssignments(_metrics, Health(_metrics), TimeProvider.System, NullLogger.Instance);
        _lag = new ConsumerLag(_metrics, _assignments);
    }

    private static string Statistics(string partition, long storedLag, long end) =>
        """{"topics":{"t":{"partitions":{"@P":{"consumer_lag_stored":@L,"ls_offset":@E}}}}}"""
            .Replace("@P", partition, StringComparison.Ordinal)
            .Replace("@L", storedLag.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("@E", end.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private double Lag(string partition) => _metrics.Lag.WithLabels("t", partition).Value;

    [Fact]
    public void Report_TrackedPartition_LagIsTheEndMinusWhatDetectionFinished()
    {
        _assignments.Assign([P(0)]);
        var tracker = _assignments.TrackerFor(P(0));
        tracker.Track(40);
        tracker.Complete(40);

        // The stored position trails (commits wait for checkpoints); it says 60, detection is 59 behind.
        _lag.Report(Statistics("0", storedLag: 60, end: 100));

        Assert.Equal(59, Lag("0"));
    }

    [Fact]
    public void Report_PartitionNotTrackedHere_UsesLibrdkafkasStoredLag()
    {
        _lag.Report(Statistics("3", storedLag: 7, end: 100));

        Assert.Equal(7, Lag("3"));
    }

    [Fact]
    public void Report_InternalPartitionOrLagNotYetKnown_Skipped()
    {
        _lag.Report(Statistics("-1", storedLag: 5, end: 100));
        _lag.Report(Statistics("2", storedLag: -1, end: -1));

        Assert.Equal(0, Lag("-1"));
        Assert.Equal(0, Lag("2"));
    }

    [Fact]
    public void Report_MalformedStatistics_IgnoredWithoutThrowing()
    {
        _lag.Report("{\"topics\":");
    }
}
