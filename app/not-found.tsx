import Link from "next/link";

export default function NotFound() {
  return (
    <main className="mx-auto flex min-h-screen max-w-md flex-col items-center justify-center gap-4 p-6 text-center">
      <p className="text-sm font-semibold text-indigo-600">404</p>
      <h1 className="text-2xl font-semibold">Page not found</h1>
      <p className="text-slate-600">This page does not exist, or you do not have access to it.</p>
      <Link href="/" className="text-sm font-medium text-indigo-700 underline underline-offset-4">
        Go to Latchkey
      </Link>
    </main>
  );
}
