import { SearchResults } from "@/components/search/search-results";

/** /search?q=: the messages with every word of `q`, in the rooms the person may read. */
export default async function SearchPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { q } = await searchParams;
  const query = typeof q === "string" ? q : "";
  // Keyed by the query: a new search starts from "Searching…", not from the last one's results.
  return <SearchResults key={query} query={query} />;
}
