// Links to one message: kept with the other pure helpers in lib/ (the stores build them too).
export { messageHref, messageSeqFrom } from "@/lib/message-links";
