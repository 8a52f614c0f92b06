import { RoomView } from "@/components/room/room-view";

export default async function RoomPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  // Room ids are lower-case names; /rooms/Design and /rooms/design are the same room.
  return <RoomView roomId={id.toLowerCase()} />;
}
