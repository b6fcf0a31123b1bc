using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tetragon;

/// <summary>
/// Decodes a probe's arguments (<c>args</c> of process_kprobe, process_tracepoint, process_lsm and process_uprobe, and
/// the kprobe's <c>return</c>) into the record: what each argument type says about a file, a socket or a byte count,
/// and which argument wins when several say it.
/// </summary>
internal sealed class TetragonArgumentReader(TetragonValues values)
{
    /// <summary>The <c>args</c> array, the reader at its value: the first argument that names a file, a socket or a size sets it.</summary>
    public void ReadArgs(ref Utf8JsonReader reader, ref TetragonRecord r)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            // One argument: the first kind present wins, in this order (as Tetragon writes one kind per argument).
            string? filePath = null, fileFlags = null, binPath = null, module = null, text = null;
            bool file = false, binprm = false, mod = false;
            TetragonSocket sock = default, addr = default;
            long? size = null;
            var sizeRank = int.MaxValue;
            var sized = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("file_arg"u8) || reader.ValueTextEquals("path_arg"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject && !file)
                    {
                        file = true;
                        ReadFileArg(ref reader, out filePath, out fileFlags);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("sock_arg"u8)) { reader.Read(); ReadSock(ref reader, ref sock); }
                else if (reader.ValueTextEquals("sockaddr_arg"u8)) { reader.Read(); ReadSock(ref reader, ref addr); }
                else if (reader.ValueTextEquals("linux_binprm_arg"u8)) { reader.Read(); binprm |= reader.TokenType == JsonTokenType.StartObject; binPath ??= values.ObjectField(ref reader, "path"u8); }
                else if (reader.ValueTextEquals("module_arg"u8)) { reader.Read(); mod |= reader.TokenType == JsonTokenType.StartObject; module ??= values.ObjectField(ref reader, "name"u8); }
                else if (reader.ValueTextEquals("string_arg"u8)) { reader.Read(); text = values.Str(ref reader); }
                else if (SizeRank(ref reader) is var rank and >= 0)
                {
                    reader.Read();
                    sized |= reader.TokenType != JsonTokenType.Null;
                    if (TetragonValues.Long(ref reader) is { } v && rank < sizeRank)
                    {
                        (size, sizeRank) = (v, rank);
                    }
                }
                else { reader.Read(); reader.Skip(); }
            }

            if (file)
            {
                r.Path ??= filePath;
                r.FileFlags ??= fileFlags;
            }
            else if (sock.Present)
            {
                r.Net ??= sock.ToNet();
            }
            else if (addr.Present)
            {
                // A sockaddr names the peer; a socket argument before it (LSM socket_connect) may name only the socket.
                r.Net = r.Net is { RemoteIp: null, RemotePort: < 0 } socket
                    ? socket with { RemoteIp = addr.Daddr, RemotePort = addr.Dport }
                    : r.Net ?? new NetInfo(null, null, -1, addr.Daddr, addr.Dport, 0, 0);
            }
            else if (binprm)
            {
                r.Path ??= binPath;
            }
            else if (mod)
            {
                r.Path ??= module;
            }
            else if (r.Size < 0 && sized)
            {
                // The byte count of tcp_sendmsg / udp_sendmsg (size_t size): the policy's second argument.
                r.Size = size ?? -1;
            }
            else if (text is ['/', ..])
            {
                // A pathname read as a string (sys_openat's filename in syscall kprobes and tracepoints): the file,
                // when no argument named one as a file or path.
                r.TextPath ??= text;
            }
        }
    }

    /// <summary>int_arg, size_arg, uint_arg, long_arg: their order of preference when one argument has several; -1 otherwise.</summary>
    private static int SizeRank(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("int_arg"u8) ? 0 : reader.ValueTextEquals("size_arg"u8) ? 1 : reader.ValueTextEquals("uint_arg"u8) ? 2 : reader.ValueTextEquals("long_arg"u8) ? 3 : -1;

    private void ReadFileArg(ref Utf8JsonReader reader, out string? path, out string? flags)
    {
        path = null;
        string? permission = null, plain = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("path"u8)) { reader.Read(); path = values.Str(ref reader); }
            else if (reader.ValueTextEquals("permission"u8)) { reader.Read(); permission = values.Str(ref reader); }
            else if (reader.ValueTextEquals("flags"u8)) { reader.Read(); plain = values.Str(ref reader); }
            else { reader.Read(); reader.Skip(); }
        }

        flags = permission ?? plain;
    }

    private void ReadSock(ref Utf8JsonReader reader, ref TetragonSocket s)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        s = new TetragonSocket { Present = true, Sport = -1, Dport = -1 };
        int port = -1, sinPort = -1;
        bool hasPort = false;
        string? addr = null, sinAddr = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("protocol"u8)) { reader.Read(); s.Protocol = values.Str(ref reader); }
            else if (reader.ValueTextEquals("type"u8)) { reader.Read(); s.Type = values.Str(ref reader); }
            else if (reader.ValueTextEquals("saddr"u8)) { reader.Read(); s.Saddr = values.Str(ref reader); }
            else if (reader.ValueTextEquals("daddr"u8)) { reader.Read(); s.Daddr = values.Str(ref reader); }
            else if (reader.ValueTextEquals("sport"u8)) { reader.Read(); s.Sport = TetragonValues.Int(ref reader); }
            else if (reader.ValueTextEquals("dport"u8)) { reader.Read(); s.Dport = TetragonValues.Int(ref reader); }
            else if (reader.ValueTextEquals("addr"u8)) { reader.Read(); addr = values.Str(ref reader); }
            else if (reader.ValueTextEquals("sin_addr"u8)) { reader.Read(); sinAddr = values.Str(ref reader); }
            else if (reader.ValueTextEquals("port"u8)) { reader.Read(); hasPort |= reader.TokenType != JsonTokenType.Null; port = TetragonValues.Int(ref reader); }
            else if (reader.ValueTextEquals("sin_port"u8)) { reader.Read(); sinPort = TetragonValues.Int(ref reader); }
            else { reader.Read(); reader.Skip(); }
        }

        // sockaddr_arg names the peer as addr/port (older: sin_addr/sin_port); kept in the destination fields.
        if (addr is not null || sinAddr is not null || hasPort || sinPort >= 0)
        {
            s.Daddr ??= addr ?? sinAddr;
            s.Dport = s.Dport >= 0 ? s.Dport : hasPort ? port : sinPort;
        }
    }

    /// <summary>The kprobe's <c>return</c>, the reader at its value: an int (the call's result) or a socket (what accept returned).</summary>
    public void ReadReturn(ref Utf8JsonReader reader, ref TetragonRecord r)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("int_arg"u8)) { reader.Read(); r.Return = TetragonValues.Long(ref reader); }
            else if (reader.ValueTextEquals("sock_arg"u8)) { reader.Read(); ReadSock(ref reader, ref r.ReturnSock); }
            else { reader.Read(); reader.Skip(); }
        }
    }
}
