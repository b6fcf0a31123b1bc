using Confluent.Kafka;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// <c>sentinel feedback send</c>: signs an analyst's verdict with the analyst's key and publishes it to the feedback
/// topic, so analysts never handle HMACs by hand. The key file is the one mounted for the daemon (same content).
/// </summary>
internal static class FeedbackCommand
{
    public static async Task<int> SendAsync(string bootstrap, string topic, string analyst, string keyFile, string? verdictFile, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (!File.Exists(keyFile))
        {
            await stderr.WriteLineAsync($"feedback send: key file '{keyFile}' does not exist").ConfigureAwait(false);
            return 2;
        }

        var key = System.Text.Encoding.UTF8.GetBytes((await File.ReadAllTextAsync(keyFile, ct).ConfigureAwait(false)).Trim());
        if (key.Length < 16)
        {
            await stderr.WriteLineAsync("feedback send: a verdict key has at least 16 characters").ConfigureAwait(false);
            return 2;
        }

        byte[] body;
        if (verdictFile is null or "-")
        {
            using var input = Console.OpenStandardInput();
            using var buffer = new MemoryStream();
            await input.CopyToAsync(buffer, ct).ConfigureAwait(false);
            body = buffer.ToArray();
        }
        else
        {
            body = await File.ReadAllBytesAsync(verdictFile, ct).ConfigureAwait(false);
        }

        // Sent exactly as read: the signature covers these bytes, and the daemon re-checks everything in them.
        body = TrimTrailingNewlines(body);
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                await stderr.WriteLineAsync("feedback send: a verdict is one JSON object (docs/alerts.md, Feedback)").ConfigureAwait(false);
                return 2;
            }
        }
        catch (System.Text.Json.JsonException ex)
        {
            await stderr.WriteLineAsync($"feedback send: not JSON: {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = bootstrap, Acks = Acks.All, EnableIdempotence = true }).Build();
        var result = await producer.ProduceAsync(topic, new Message<byte[]?, byte[]> { Value = body, Headers = FeedbackSignature.Headers(analyst, key, body) }, ct).ConfigureAwait(false);
        await stdout.WriteLineAsync($"sent verdict signed by {analyst} to {result.TopicPartitionOffset}; its result appears in the feedback audit").ConfigureAwait(false);
        return 0;
    }

    private static byte[] TrimTrailingNewlines(byte[] b)
    {
        var n = b.Length;
        while (n > 0 && b[n - 1] is (byte)'\n' or (byte)'\r')
        {
            n--;
        }

        return n == b.Length ? b : b[..n];
    }
}
