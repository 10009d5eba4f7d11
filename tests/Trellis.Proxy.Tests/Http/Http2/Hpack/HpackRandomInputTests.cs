using System.Buffers;
using Trellis.Proxy.Http.Http2.Hpack;
using static Trellis.Proxy.Tests.Http.Http2.Hpack.HpackTestBlocks;

namespace Trellis.Proxy.Tests.Http.Http2.Hpack;

/// <summary>
/// Seeded mutation tests of the HPACK decoder and the relay's decode / re-encode step: a
/// peer's field block, however malformed, must fail as a compression error (HpackException,
/// which the connection turns into GOAWAY COMPRESSION_ERROR) and never as any other
/// exception, and whatever decodes must come through the relay's re-encoding unchanged.
/// </summary>
public class HpackRandomInputTests
{
    private const int Iterations = 3000;

    // RFC 7541 C.4 (requests, Huffman) and C.6 (responses, Huffman, 256-octet table): dynamic
    // table insertions, references to them, evictions and Huffman strings in one sequence.
    private static readonly string[] RequestBlocks =
    [
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        "8286 84be 5886 a8eb 1064 9cbf",
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ];

    private static readonly string[] ResponseBlocks =
    [
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        "4883 640e ff c1 c0 bf",
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void MutatedBlocks_FailOnlyAsCompressionErrors_AndWhatDecodesSurvivesReEncoding(int seed)
    {
        var random = new Random(seed);
        var decoded = 0;
        var failed = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var (blocks, tableSize) = random.Next(2) == 0 ? (RequestBlocks, 4096) : (ResponseBlocks, 256);
            var decoder = new HpackDecoder(maxDynamicTableSize: tableSize, maxHeaderListSize: 4096);
            var mutated = random.Next(blocks.Length);
            for (var b = 0; b < blocks.Length; b++)
            {
                var block = Hex(blocks[b]).ToArray();
                if (b == mutated)
                {
                    block = Mutate(random, block);
                }

                var context = $"seed {seed}, iteration {i}, block {b}: {Convert.ToHexString(block)}";
                var headers = new List<HeaderField>();
                try
                {
                    decoder.Decode(new ReadOnlySequence<byte>(block), headers);
                }
                catch (HpackException)
                {
                    failed++;
                    break;
                }
                catch (Exception e)
                {
                    Assert.Fail($"{context}: {e.GetType().Name}: {e.Message}");
                }

                decoded++;
                Assert.InRange(decoder.DynamicTableSize, 0, tableSize);
                Assert.True(headers.SequenceEqual(ReEncode(headers)), context);
            }
        }

        Assert.InRange(failed, Iterations / 20, Iterations);
        Assert.InRange(decoded, Iterations / 20, Iterations * 3);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void RandomHeaderLists_RoundTripThroughEncoderAndDecoder(int seed)
    {
        var random = new Random(seed);
        string[] names = [":method", ":path", ":authority", ":status", "content-type", "accept", "x-request-id", "grpc-status", "te", "cookie"];
        for (var i = 0; i < Iterations; i++)
        {
            var headers = new List<HeaderField>();
            var count = random.Next(0, 12);
            for (var f = 0; f < count; f++)
            {
                var name = random.Next(4) == 0 ? RandomString(random, 1, 40, lowercaseToken: true) : names[random.Next(names.Length)];
                var value = random.Next(4) == 0 ? HpackStaticTable.Get(random.Next(1, HpackStaticTable.Count + 1)).Value : RandomString(random, 0, 300, lowercaseToken: false);
                headers.Add(new HeaderField(name, value) { NeverIndexed = random.Next(6) == 0 });
            }

            Assert.True(headers.SequenceEqual(ReEncode(headers)), $"seed {seed}, iteration {i}");
        }
    }

    private static List<HeaderField> ReEncode(List<HeaderField> headers)
    {
        var encoded = new ArrayBufferWriter<byte>();
        HpackEncoder.Encode(headers, encoded);
        var again = new List<HeaderField>();
        new HpackDecoder().Decode(new ReadOnlySequence<byte>(encoded.WrittenMemory), again);
        return again;
    }

    private static byte[] Mutate(Random random, byte[] block)
    {
        var bytes = block.ToList();
        var edits = random.Next(1, 4);
        for (var e = 0; e < edits && bytes.Count > 0; e++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 2:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                default:
                    bytes.RemoveRange(at, random.Next(1, bytes.Count - at + 1));
                    break;
            }
        }

        return [.. bytes];
    }

    private static string RandomString(Random random, int min, int max, bool lowercaseToken)
    {
        const string Token = "abcdefghijklmnopqrstuvwxyz0123456789-_.!#$%&'*+^`|~";
        var chars = new char[random.Next(min, max + 1)];
        for (var c = 0; c < chars.Length; c++)
        {
            // Values are octets carried as Latin-1 characters: every byte value must survive.
            chars[c] = lowercaseToken ? Token[random.Next(Token.Length)] : (char)random.Next(256);
        }

        return new string(chars);
    }
}
