output "proxy_addresses" {
  description = "gRPC addresses of the node proxies (voters list every region's, their own first)."
  value       = [for n in local.proxy_names : "${aws_route53_record.host[n].name}:9110"]
}

output "voter_private_ips" {
  value = aws_instance.voter[*].private_ip
}

output "admin_wallet_hosts" {
  description = "vspd wallethost entries (the wallet certificate needs these names as SANs)."
  value       = [for n in local.admin_names : "${aws_route53_record.host[n].name}:9122"]
}

output "etcd_client_urls" {
  value = [for n in local.etcd_ids : "https://${aws_route53_record.host[n].name}:2379"]
}
