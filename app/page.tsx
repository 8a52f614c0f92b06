import { RoomList } from "@/components/rooms/room-list";

export default function Home() {
  return <RoomList />;
}
