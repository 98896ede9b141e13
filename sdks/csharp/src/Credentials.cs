// Saving and loading the token a client reconnects with, in the same file format as the
// other SDKs: `~/.spacetimedb_client_credentials/<key>` holds the BSATN of the product
// `{ token: String }` (a little-endian u32 length, then the UTF-8 bytes).
using System;
using System.IO;

namespace SpacetimeDB
{
    /// <summary>A file holding one saved token.</summary>
    public sealed class CredentialFile
    {
        /// <summary>The directory under the home directory that holds credential files.</summary>
        public const string DefaultDirectoryName = ".spacetimedb_client_credentials";

        readonly string path;

        /// <summary>The file <paramref name="key"/> in <c>~/.spacetimedb_client_credentials</c>.</summary>
        public CredentialFile(string key)
            : this(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), DefaultDirectoryName), key) { }

        /// <summary>The file <paramref name="key"/> in <paramref name="directory"/>.</summary>
        public CredentialFile(string directory, string key)
        {
            if (string.IsNullOrEmpty(key) || key.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
                throw new ArgumentException("a credentials key must be a plain file name, like \"my_app\"", "key");
            path = Path.Combine(directory, key);
        }

        /// <summary>Where the token is kept.</summary>
        public string FilePath { get { return path; } }

        /// <summary>The saved token, or null if none was saved; pass it to <c>WithToken</c>.</summary>
        /// <exception cref="IOException">If the file exists but cannot be read or is not a saved token.</exception>
        public string Load()
        {
            if (!File.Exists(path)) return null;
            var bytes = File.ReadAllBytes(path);
            try
            {
                var r = new BsatnReader(bytes);
                var token = r.ReadString();
                r.EnsureEnd("credentials file " + path);
                return token;
            }
            catch (BsatnException e)
            {
                throw new IOException("the credentials file " + path + " does not hold a saved token (" + e.Message + "); delete it to connect as a new identity", e);
            }
        }

        /// <summary>Saves <paramref name="token"/>, creating the directory if needed; call it from <c>OnConnect</c>.</summary>
        public void Save(string token)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path));
            var w = new BsatnWriter();
            w.WriteString(token);
            File.WriteAllBytes(path, w.ToArray());
        }
    }
}
