import { redirect } from "next/navigation";
import { getActor, redirectToSignIn } from "@/lib/auth/session";
import { hasAnyUser } from "@/lib/users/service";

export default async function Home() {
  if (!(await hasAnyUser())) redirect("/setup");
  if (!(await getActor())) await redirectToSignIn(); // or the second step of a sign-in waiting for its code
  redirect("/profile");
}
