using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class PeerRateTests
{
    private static RuntimeEvent Connect(string ip) => Some.Connect(ip, 8080);

    private static RuntimeEvent Accept(string ip) =>
        Some.Event(EventKind.NetAccept) with { Net = new NetInfo("tcp", "10.244.1.12", 8080, ip, 44000, 0, 0) { Direction = NetDirection.Inbound } };

    /// <summary>Thirty learned minutes: 4 calls a minute to the cart, 40 to the (busier) catalog, 6 visits from the ingress.</summary>
    private static PeerRate Learned(DateTimeOffset t)
    {
        var r = new PeerRate(maxPeers: 16);
        for (var m = 0; m < 30; m++)
        {
            for (var i = 0; i < 40; i++)
            {
                var at = t.AddMinutes(m).AddSeconds(1.5 * i);
                r.Observe(Connect("10.96.40.10"), "catalog", at, learning: true, out _, out _, out _);
                if (i % 10 == 0)
                {
                    r.Observe(Connect("10.96.40.20"), "cart", at, learning: true, out _, out _, out _);
                }

                if (i % 7 == 0)
                {
                    r.Observe(Accept("10.244.0.9"), "ingress-nginx", at, learning: true, out _, out _, out _);
                }
            }
        }

        return r;
    }

    private static int Raised(PeerRate r, RuntimeEvent e, string peer, DateTimeOffset from, int connections, out long count, out long learned)
    {
        var raised = 0;
        (count, learned) = (0, 0);
        for (var i = 0; i < connections; i++)
        {
            if (r.Observe(e, peer, from.AddMilliseconds(59_000.0 * i / connections), learning: false, out _, out var c, out var l))
            {
                raised++;
                (count, learned) = (c, l);
            }
        }

        return raised;
    }

    [Fact]
    public void Observe_KnownServiceCalledTensOfTimesItsRate_RaisedOnceWithWhatWasLearned()
    {
        var t = Some.Time;
        var r = Learned(t);

        // The cart, called 30 times its pace (120 in a minute): hidden in the workload's 160, plain per peer.
        Assert.Equal(1, Raised(r, Connect("10.96.40.20"), "cart", t.AddMinutes(40), 120, out var count, out var learned));
        Assert.Equal(Math.Max(PeerRate.Floor, (PeerRate.Factor * 4L) + 1), count);
        Assert.Equal(4, learned);
    }

    [Fact]
    public void Observe_BusyPeerAtItsUsualPaceOrABurstBelowTheFactor_NotRaised()
    {
        var t = Some.Time;
        var r = Learned(t);

        // The busiest peer at five times its busiest minute (a traffic burst), the cart under the floor: nothing.
        Assert.Equal(0, Raised(r, Connect("10.96.40.10"), "catalog", t.AddMinutes(40), 200, out _, out _));
        Assert.Equal(0, Raised(r, Connect("10.96.40.20"), "cart", t.AddMinutes(42), 39, out _, out _));

        // A peer first met after learning has no rate to exceed (novelty judges it), and is not even kept.
        Assert.Equal(0, Raised(r, Connect("10.96.77.7"), "new-service", t.AddMinutes(44), 500, out _, out _));
        Assert.Equal(3, r.Count);
    }

    [Fact]
    public void Observe_ClientHammeringAServerItServes_InboundRaisedSeparatelyFromOutbound()
    {
        var t = Some.Time;
        var r = Learned(t);

        // The ingress visits 6 times a minute; a credential-stuffing run through it arrives at 30 times that.
        Assert.Equal(1, Raised(r, Accept("10.244.0.9"), "ingress-nginx", t.AddMinutes(40), 180, out var count, out var learned));
        Assert.Equal(6, learned);
        Assert.True(count >= PeerRate.Floor, $"{count}");
    }
}
