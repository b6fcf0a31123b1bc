using System.Text;
using System.Text.Json;
using RuntimeSentinel.Formats.Tetragon;

namespace RuntimeSentinel.Formats.Tests.Tetragon;

/// <summary>Readers positioned the way the Tetragon collaborators expect them: at the value they are to read.</summary>
internal static class TetragonJson
{
    public static byte[] U(string json) => Encoding.UTF8.GetBytes(json);

    /// <summary>A reader at the first token of <paramref name="utf8"/>.</summary>
    public static Utf8JsonReader At(byte[] utf8)
    {
        var reader = new Utf8JsonReader(utf8, TetragonValues.ReaderOptions);
        reader.Read();
        return reader;
    }
}
