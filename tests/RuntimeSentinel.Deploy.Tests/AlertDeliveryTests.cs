using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RuntimeSentinel.TestCommon;
using Xunit.Abstractions;

namespace RuntimeSentinel.Deploy.Tests;

/// <summary>Incidents delivered to a real Alertmanager, and to a webhook that goes away mid-stream.</summary>
public class AlertDeliveryTests(ITestOutputHelper output)
{
    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static List<JsonElement> Incidents(string file) =>
        File.ReadAllLines(file).Select(l => JsonDocument.Parse(l).RootElement).GroupBy(i => i.GetProperty("id").GetString()).Select(g => g.Last()).ToList();

    [SkippableFact]
    public async Task Demo_WithAlertmanagerSink_EveryIncidentIsReadableInAlertmanager()
    {
        var alertmanager = Tools.Require("prometheus-alertmanager", "apt-get install prometheus-alertmanager");
        var dir = Directory.CreateTempSubdirectory("sentinel-am-");
        var port = FreePort();
        var config = Path.Combine(dir.FullName, "alertmanager.yml");
        await File.WriteAllTextAsync(config, """
            route:
              receiver: sink
              group_by: [incident]
            receivers:
              - name: sink
            """);
        var psi = new System.Diagnostics.ProcessStartInfo(alertmanager) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "--config.file=" + config, "--storage.path=" + Path.Combine(dir.FullName, "data"), $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=" })
        {
            psi.ArgumentList.Add(a);
        }

        using var am = System.Diagnostics.Process.Start(psi)!;
        am.BeginErrorReadLine();
        am.BeginOutputReadLine();
        var alertsFile = Path.Combine(dir.FullName, "alerts.jsonl");
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await KafkaTestKit.EventuallyAsync(() => { try { return http.GetAsync("/-/ready").Result.IsSuccessStatusCode; } catch (AggregateException) { return false; } }, TimeSpan.FromSeconds(30), "Alertmanager ready");
            var env = new Dictionary<string, string>
            {
                ["SENTINEL_Alerting__Alertmanager__Url"] = $"http://127.0.0.1:{port}",
                ["SENTINEL_Alerting__RunbookUrlTemplate"] = "https://runbooks.example/sentinel/{category}",
                ["SENTINEL_Alerting__SpillDirectory"] = Path.Combine(dir.FullName, "spill"),
            };
            using var sentinel = new SentinelProcess(env, "demo", "--duration", "60", "--learning", "20", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--alerts-file", alertsFile);
            await sentinel.AssertExitsWithAsync(0, TimeSpan.FromSeconds(120));

            var incidents = Incidents(alertsFile).Where(i => i.GetProperty("kind").GetString() == "detection").ToList();
            using var doc = JsonDocument.Parse(await http.GetStringAsync("/api/v2/alerts"));
            var inAm = doc.RootElement.EnumerateArray().ToList();
            Assert.True(incidents.Count >= 5, $"{incidents.Count} incidents");
            Assert.Equal(incidents.Select(i => i.GetProperty("id").GetString()).Order(), inAm.Select(a => a.GetProperty("labels").GetProperty("incident").GetString()).Order());
            foreach (var a in inAm)
            {
                var labels = a.GetProperty("labels");
                Assert.StartsWith("RuntimeSentinel", labels.GetProperty("alertname").GetString(), StringComparison.Ordinal);
                Assert.Equal("demo", labels.GetProperty("cluster").GetString());
                Assert.StartsWith("https://runbooks.example/sentinel/", a.GetProperty("annotations").GetProperty("runbook_url").GetString(), StringComparison.Ordinal);
                Assert.False(string.IsNullOrEmpty(a.GetProperty("annotations").GetProperty("summary").GetString()));
            }

            Assert.Contains(inAm, a => a.GetProperty("labels").TryGetProperty("mitre_technique", out var t) && t.GetString() == "T1496");
            Assert.Contains(inAm, a => a.GetProperty("labels").TryGetProperty("mitre_technique", out var t) && t.GetString() == "T1003.008");
        }
        finally
        {
            am.Kill(entireProcessTree: true);
            await am.WaitForExitAsync();
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public async Task Demo_WebhookReceiverKilledMidStream_EveryIncidentArrivesOnceItReturns()
    {
        // The receiver is a separate process (Python's http.server) that records each request before it answers
        // 200, and is killed with SIGKILL mid-stream: the kernel resets its connections, as in a real crash.
        var python = Tools.Require("python3", "python3");
        var dir = Directory.CreateTempSubdirectory("sentinel-hook-");
        var port = FreePort();
        const string secret = "s3cret";
        var script = Path.Combine(dir.FullName, "receiver.py");
        var log = Path.Combine(dir.FullName, "received.jsonl");
        await File.WriteAllTextAsync(script, """
            import http.server, json, sys
            port, out = int(sys.argv[1]), sys.argv[2]
            class Handler(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.0"
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    with open(out, "ab") as f:
                        f.write(json.dumps({"sig": self.headers.get("X-Sentinel-Signature"), "ts": self.headers.get("X-Sentinel-Timestamp"), "body": body.decode()}).encode() + b"\n")
                    self.send_response(200)
                    self.end_headers()
                def log_message(self, *args):
                    pass
            http.server.ThreadingHTTPServer.allow_reuse_address = True
            http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
            """);
        System.Diagnostics.Process Receiver()
        {
            var psi = new System.Diagnostics.ProcessStartInfo(python) { UseShellExecute = false };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            psi.ArgumentList.Add(log);
            return System.Diagnostics.Process.Start(psi)!;
        }

        var alertsFile = Path.Combine(dir.FullName, "alerts.jsonl");
        var env = new Dictionary<string, string>
        {
            ["SENTINEL_Alerting__Webhook__Url"] = $"http://127.0.0.1:{port}/hook",
            ["SENTINEL_Alerting__Webhook__Secret"] = secret,
            ["SENTINEL_Alerting__MaxBackoff"] = "00:00:02",
            ["SENTINEL_Alerting__SpillDirectory"] = Path.Combine(dir.FullName, "spill"),
        };
        var receiver = Receiver();
        using var sentinel = new SentinelProcess(env, "demo", "--duration", "70", "--learning", "20", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--alerts-file", alertsFile);

        // Kill the receiver as soon as the first incident is written, for 15 s.
        await KafkaTestKit.EventuallyAsync(() => File.Exists(alertsFile) && new FileInfo(alertsFile).Length > 0, TimeSpan.FromSeconds(60), "first incident");
        receiver.Kill();
        await receiver.WaitForExitAsync();
        receiver.Dispose();
        await Task.Delay(TimeSpan.FromSeconds(15));
        var receivedDuringOutage = File.Exists(log) ? File.ReadAllLines(log).Length : 0;
        receiver = Receiver();
        try
        {
            await sentinel.AssertExitsWithAsync(0, TimeSpan.FromSeconds(120));
        }
        finally
        {
            receiver.Kill();
            await receiver.WaitForExitAsync();
            receiver.Dispose();
        }

        var written = Incidents(alertsFile);
        var requests = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var ids = requests.SelectMany(r => JsonDocument.Parse(r.GetProperty("body").GetString()!).RootElement.EnumerateArray().Select(i => i.GetProperty("id").GetString())).Distinct().ToList();
        output.WriteLine($"incidents written: {written.Count}; requests before the receiver returned: {receivedDuringOutage}; incidents received: {ids.Count} distinct in {requests.Count} requests");
        Assert.True(written.Count >= 5, $"{written.Count} incidents written");
        Assert.Equal(written.Select(i => i.GetProperty("id").GetString()).Order(), ids.Order()); // zero lost
        // Signed over "<timestamp>.<body>", as a receiver checks it (and refuses stale timestamps: replays).
        Assert.All(requests, r => Assert.Equal(
            "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(r.GetProperty("ts").GetString() + "." + r.GetProperty("body").GetString()!))),
            r.GetProperty("sig").GetString()));
        Assert.All(requests, r => Assert.InRange(long.Parse(r.GetProperty("ts").GetString()!, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        Assert.Contains("Sink webhook: delivery of", sentinel.Stderr, StringComparison.Ordinal); // the outage was real
        Assert.Contains("Sink webhook recovered", sentinel.Stderr, StringComparison.Ordinal);
        dir.Delete(recursive: true);
    }
}
