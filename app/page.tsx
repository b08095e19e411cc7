import { redirect } from "next/navigation";
import { getActor } from "@/lib/auth/session";
import { hasAnyUser } from "@/lib/users/service";

export default async function Home() {
  if (!(await hasAnyUser())) redirect("/setup");
  redirect((await getActor()) ? "/profile" : "/sign-in");
}
