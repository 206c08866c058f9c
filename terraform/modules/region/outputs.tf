output "proxy_addresses" {
  description = "gRPC addresses of the node proxies (voters list every region's, their own first)."
  value       = [for r in aws_route53_record.proxy : "${r.name}:9110"]
}

output "voter_private_ips" {
  value = aws_instance.voter[*].private_ip
}

output "admin_wallet_hosts" {
  description = "vspd wallethost entries (the wallet certificate needs these names as SANs)."
  value       = [for r in aws_route53_record.admin : "${r.name}:9122"]
}

output "etcd_client_urls" {
  value = [for r in aws_route53_record.etcd : "https://${r.name}:2379"]
}
