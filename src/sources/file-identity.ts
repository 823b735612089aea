/** What rules match a file by: its public URL (`sourceUrl` rules) and its absolute path (`sourceDir` rules). */
export interface FileIdentity {
  url?: string;
  path?: string;
}
