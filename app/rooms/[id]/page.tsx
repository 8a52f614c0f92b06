import { RoomView } from "@/components/room/room-view";

import { messageSeqFrom } from "@/components/room/message-link";

export default async function RoomPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const [{ id }, query] = await Promise.all([params, searchParams]);
  // Room ids are lower-case names; /rooms/Design and /rooms/design are the same room.
  // `?seq=` points at one message (a link from the feed or a mention): shown and highlighted.
  return <RoomView roomId={id.toLowerCase()} focusSeq={messageSeqFrom(query.seq)} />;
}
