// The credentials file: the same bytes as the other SDKs write, and clear errors.
using System;
using System.IO;

namespace SpacetimeDB.Tests
{
    public static class CredentialTests
    {
        [Test]
        public static void SavesAndLoadsTheSharedFormat()
        {
            var dir = Path.Combine(Path.GetTempPath(), "stdb-creds-" + Guid.NewGuid().ToString("N"));
            try
            {
                var file = new CredentialFile(dir, "chat");
                Assert.Equal(null, file.Load(), "nothing saved yet");
                file.Save("tok");
                Assert.Equal("03000000746f6b", Assert.Hex(File.ReadAllBytes(Path.Combine(dir, "chat"))), "BSATN of { token }");
                Assert.Equal("tok", file.Load(), "loaded");
                File.WriteAllBytes(file.FilePath, new byte[] { 9 });
                var e = Assert.Throws<IOException>(() => file.Load(), "a damaged file");
                Assert.True(e.Message.Contains("delete it"), e.Message);
                Assert.Throws<ArgumentException>(() => new CredentialFile(dir, "a/b"), "a key with a separator");
            }
            finally
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, true);
            }
        }
    }
}
