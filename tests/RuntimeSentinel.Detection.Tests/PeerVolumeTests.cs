using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class PeerVolumeTests
{
    private static RuntimeEvent Sent(string ip, long bytes) =>
        Some.Event(EventKind.NetFlow) with { Net = new NetInfo("tcp", "10.244.1.12", 5432, ip, 44000, 0, bytes) { Direction = NetDirection.Inbound } };

    [Fact]
    public void Observe_MinuteFarAboveWhatThatPeerWasEverSent_RaisedOnceEvenIfOtherPeersGetMore()
    {
        var v = new PeerVolume(maxPeers: 16);
        var t = Some.Time;

        // Learning: the api gets small answers all the time; the backup job a 1.3 MB dump now and then.
        for (var m = 0; m < 30; m++)
        {
            for (var s = 0; s < 6; s++)
            {
                v.Observe(Sent("10.244.1.10", 20_000), "api", t.AddMinutes(m).AddSeconds(10 * s), learning: true, out _, out _);
            }

            if (m % 15 == 5)
            {
                v.Observe(Sent("10.244.1.17", 1_300_000), "backup", t.AddMinutes(m), learning: true, out _, out _);
            }
        }

        var now = t.AddMinutes(40);

        // The usual dump to the backup job, and the usual answers to the api: nothing.
        Assert.False(v.Observe(Sent("10.244.1.17", 1_300_000), "backup", now, learning: false, out _, out _));
        Assert.False(v.Observe(Sent("10.244.1.10", 20_000), "api", now, learning: false, out _, out _));

        // 26 MB to the api within a minute: far less than the whole node moves, far more than the api ever got.
        var raised = 0;
        long bytes = 0, learned = 0;
        for (var i = 0; i < 400; i++)
        {
            if (v.Observe(Sent("10.244.1.10", 65_536), "api", now.AddMilliseconds(150 * i), learning: false, out var b, out var l))
            {
                raised++;
                (bytes, learned) = (b, l);
            }
        }

        Assert.Equal(1, raised);
        Assert.True(bytes > PeerVolume.Floor && learned == 120_000, $"{bytes} against {learned}");
    }

    [Fact]
    public void Observe_PeerWithoutAWholeLearnedMinute_HasNoHistoryToExceed()
    {
        // Twenty seconds of learning (the demo's) teach no minute: a steady 30 MB a minute afterwards is not a spike.
        var v = new PeerVolume(maxPeers: 16);
        var t = Some.Time;
        for (var i = 0; i < 200; i++)
        {
            v.Observe(Sent("52.218.48.10", 50_000), "s3", t.AddMilliseconds(100 * i), learning: true, out _, out _);
        }

        for (var i = 200; i < 1200; i++)
        {
            Assert.False(v.Observe(Sent("52.218.48.10", 50_000), "s3", t.AddMilliseconds(100 * i), learning: false, out _, out _));
        }
    }

    [Fact]
    public void Observe_NodeBudgetSpent_NewPeersRefusedAndCountedClearGivesTheMemoryBack()
    {
        // A flood of unique peers: the table stops at what the node's budget holds, not at the per-workload cap alone.
        var budget = new Models.ModelMemoryBudget(16 * 1024);
        var v = new PeerVolume(maxPeers: 100_000, budget);
        for (var i = 0; i < 10_000; i++)
        {
            v.Observe(Sent($"10.{i / 65536}.{i / 256 % 256}.{i % 256}", 1_000), null, Some.Time.AddMilliseconds(i), learning: true, out _, out _);
        }

        Assert.InRange(v.Count, 50, 200);
        Assert.True(budget.Refusals(Models.MemoryRefusal.BaselineItems) > 9_000);
        Assert.True(budget.Used > 0);

        v.Clear();
        Assert.Equal(0, budget.Used);
    }
}
